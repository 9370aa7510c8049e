package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// childDaemonEnv holds the arguments of a daemon run as a child process.
const childDaemonEnv = "STATEMGRD_CHILD"

// TestMain lets this test binary stand in for the statemgrd binary: the
// default platform's demo service runs "<own binary> demo-service".
// With STATEMGRD_CHILD set it is a whole daemon, for tests that SIGKILL it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == demoServiceCommand {
		os.Exit(multicall(os.Args, os.Stdout, os.Stderr))
	}
	if args := os.Getenv(childDaemonEnv); args != "" {
		os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// startChildDaemon starts this test binary as a daemon with args (flags in
// one string), its output collected in the returned buffer, for tests that
// SIGKILL it.
func startChildDaemon(t *testing.T, args string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childDaemonEnv+"="+args)
	out := &syncBuffer{}
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	return child, out
}
