//go:build race

package sim_test

// raceEnabled: the race detector slows goroutines down by an order of
// magnitude, past the few milliseconds the driver grants a busy call
// before it moves the virtual clock.
const raceEnabled = true
