// Package adapters defines how statemgr talks to hardware: GPIO lines by
// name and polarity, PMBus devices at the level of SMBus transactions, and
// thermal sensors. The machines decide; adapters act and report.
//
// The interfaces are deliberately narrow and hardware-shaped so that each
// back-end (Linux GPIO character device, /dev/i2c-N SMBus, hwmon/debugfs
// files, the simulated platform) implements the same small surface and the
// simulated platform can inject the faults real boards show.
//
// Contract: every call takes a context and returns a typed error on failure
// (see errors.go); nothing blocks past its context; edge callbacks run on the
// back-end's goroutine, in order, and must not block.
//
// # Import rule
//
// The hardware layer knows no component policy. Production code under
// adapters/ uses, of actors/, only the domain and its seams: actors (ids,
// records), actors/machine (effects in, observations out), actors/clock
// (time is an input) and actors/actorsys (the actor runtime the device
// actors run on). It never imports the component shell
// (actors/protoactor), the coordinator or sagas, nor server/: the
// interfaces the devices satisfy (the components' Effector, the
// coordinator's Hardware) are asserted where they are consumed, in the
// composition root server/assembly, which also judges PSU readings for the
// coordinator. cmd/imports_test.go checks the rule.
package adapters
