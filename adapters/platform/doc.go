// Package platform reads the platform file: the description of one board
// that tells statemgr what it manages — the chassis and its PSUs (bus,
// address, page, back-end, power sequencing order), the hosts, the GPIO
// lines that control them (names and polarity) and the host events other
// services may report for them (a host's "input" block, HostInput), the BMC (and how it is reset:
// reset = "none", the default, or "restart-daemon" on the simulated
// platform), thermal zones with
// their sensors and limits, supervised services (command, environment,
// dependencies, stop and restart policy, readiness and liveness checks),
// power-control timeouts, and "machine" blocks that extend the built-in
// state machines with states and transitions (machine.Extension).
//
// A state added to a host or chassis machine must say what power good
// reads in it, power = "on", "off" or "any" (machine.State.Power; any:
// only the hardware knows, as in Error); a bmc or service state may not.
// Reconciliation, the coordinator and the power LED read it, so an added
// state is powered, or off, to all of them as the file says, and Parse
// reports a missing or wrong power at the state's line with what to write.
//
// The file is HCL (hashicorp/hcl/v2, native syntax). HCL was chosen because
// every diagnostic carries a file:line:col range, the parser keeps going and
// accumulates problems across the whole file instead of stopping at the
// first, and the format is the one BMC and infrastructure operators already
// write for Terraform, Nomad and Consul. Durations are strings ("200ms",
// "4s"); addresses are strings or numbers ("0x58" or 88).
//
// Contract: Parse returns either a complete, checked Platform or an *Error
// listing every problem found, syntax and semantics alike (duplicate names,
// unknown references, bad polarity, addresses outside 0x03..0x77, missing
// host lines, bad durations, service dependency cycles...), each as
// "file:line:col: message", in file order. It never panics on bad input:
// before hclsyntax sees a source, CheckLimits refuses one past
// MaxSourceBytes, MaxNesting, MaxBlocks or MaxAttributes with a located
// *Error wrapping ErrTooComplex, in constant memory. Every other reader
// of user HCL (the daemon's config file) calls CheckLimits too, and reads
// files through ReadSource, which stops at MaxSourceBytes.
// Default returns the built-in platform, parsed from the embedded
// default.hcl, which is therefore also the reference example of the format.
package platform
