package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/statemgr/statemgr/adapters/process/demo"
	"github.com/statemgr/statemgr/cmd/statemgr/cli"
)

// The statemgrd binary is a multi-call binary, the way BusyBox is: a board
// ships one executable, statemgrd, with statemgr and statemgr-demo-service
// as symlinks to it, so the Go runtime, the standard library and the
// packages the daemon and the CLI share are in its flash once (issue 16).
// It runs the program its first argument names, else the one it was called
// as: "statemgr list", "statemgrd statemgr list" and, on a development
// machine, "go run ./cmd/statemgrd statemgr list" all run the CLI.
const (
	daemonProgram = "statemgrd"
	cliProgram    = "statemgr"
	demoProgram   = "statemgr-demo-service"
)

// programs are the names the binary answers to, in the order its usage
// lists them.
var programs = []string{daemonProgram, cliProgram, demoProgram}

// developmentPrograms are the further programs a development build adds
// by build tag (floor.go), run by the name they register in programs.
var developmentPrograms = map[string]func(args []string, stdout, stderr io.Writer) int{}

// demoServiceCommand, as the first argument, runs the demo service too: a
// platform service whose command is "statemgrd" runs
// "<this binary> demo-service ...".
const demoServiceCommand = "demo-service"

// chooseProgram picks what a command line runs: the program its first
// argument names (the argument is consumed), else the one the basename of
// argv0 names. ok is false when neither names one.
func chooseProgram(argv0 string, args []string) (program string, rest []string, ok bool) {
	if len(args) > 0 {
		first := args[0]
		if first == demoServiceCommand {
			first = demoProgram
		}
		for _, p := range programs {
			if first == p {
				return p, args[1:], true
			}
		}
	}
	called := filepath.Base(argv0)
	for _, p := range programs {
		if called == p {
			return p, args, true
		}
	}
	return "", args, false
}

// multicall runs the program argv (os.Args) chooses and returns its exit
// code.
func multicall(argv []string, stdout, stderr io.Writer) int {
	argv0, args := "", []string(nil)
	if len(argv) > 0 {
		argv0, args = argv[0], argv[1:]
	}
	program, rest, ok := chooseProgram(argv0, args)
	switch {
	case !ok:
		called := filepath.Base(argv0)
		fmt.Fprintf(stderr, "%s: this binary is %s: call it by one of those names (a symlink to it) or pass the name first, e.g. %s statemgr --help\n",
			called, strings.Join(programs, ", "), called)
		return 2
	case program == cliProgram:
		return cli.Main(version, rest, stdout, stderr)
	case program == demoProgram:
		return demo.Main(rest, stdout, stderr)
	case developmentPrograms[program] != nil:
		return developmentPrograms[program](rest, stdout, stderr)
	}
	return run(rest, stdout, stderr)
}
