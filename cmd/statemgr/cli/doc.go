// Package cli is statemgr, the command-line client of the statemgr state
// server, and its operator tools (statemgr bench log measures the event
// log; statemgr sim runs the simulator campaign). Each subcommand lives in
// its own file; Main runs a command line and returns its exit code (exit.go
// lists the codes).
//
// It is a package, not a main, so that the statemgr command and the
// daemon's multi-call binary (statemgrd called as statemgr, a symlink on a
// board) run the same code. Built with -tags bmc it leaves out the
// development commands and what they link (devcommands.go).
package cli
