package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestChooseProgram(t *testing.T) {
	for _, c := range []struct {
		argv0   string
		args    []string
		program string
		rest    []string
	}{
		{"statemgrd", nil, daemonProgram, nil},
		{"/usr/bin/statemgrd", []string{"-config", "/etc/statemgrd.hcl"}, daemonProgram, []string{"-config", "/etc/statemgrd.hcl"}},
		{"/usr/bin/statemgr", []string{"list"}, cliProgram, []string{"list"}},
		{"statemgr", nil, cliProgram, nil},
		{"/usr/libexec/statemgr-demo-service", []string{"--ready-after", "1s"}, demoProgram, []string{"--ready-after", "1s"}},
		// The first argument names the program: the real file run without a symlink.
		{"/usr/bin/statemgrd", []string{"statemgr", "power", "on", "host.0"}, cliProgram, []string{"power", "on", "host.0"}},
		{"/usr/bin/statemgrd", []string{"statemgr-demo-service", "--crash"}, demoProgram, []string{"--crash"}},
		{"/usr/bin/statemgrd", []string{"statemgrd", "-version"}, daemonProgram, []string{"-version"}},
		// A platform service whose command is "statemgrd" runs "<binary> demo-service".
		{"/usr/bin/statemgrd", []string{"demo-service", "--ready-after", "200ms"}, demoProgram, []string{"--ready-after", "200ms"}},
		{"/tmp/go-build1/b001/statemgrd.test", []string{"demo-service"}, demoProgram, []string{}},
		// Any name, if the first argument names the program.
		{"/opt/bmc/box", []string{"statemgr", "list"}, cliProgram, []string{"list"}},
		// The called name counts only as a whole basename.
		{"./statemgr", []string{"tail", "-f"}, cliProgram, []string{"tail", "-f"}},
		{"/usr/bin/statemgr", []string{"statemgrd"}, daemonProgram, []string{}},
	} {
		program, rest, ok := chooseProgram(c.argv0, c.args)
		if !ok || program != c.program || !slices.Equal(rest, c.rest) {
			t.Errorf("chooseProgram(%q, %q) = %q, %q, %v; want %q, %q", c.argv0, c.args, program, rest, ok, c.program, c.rest)
		}
	}
	for _, c := range []struct {
		argv0 string
		args  []string
	}{
		{"", nil},
		{"/usr/bin/statemgrd-1.2", []string{"-version"}},
		{"box", []string{"list"}},
		{"demo-service", nil}, // an argument alias, not a program name
		{"/usr/bin/statemgr.sh", nil},
		{"box", []string{"-config", "statemgr"}},
	} {
		if program, _, ok := chooseProgram(c.argv0, c.args); ok {
			t.Errorf("chooseProgram(%q, %q) = %q; want no program", c.argv0, c.args, program)
		}
	}
}

// An unknown name is a usage error that lists the names and how to pass one.
func TestMulticallRefusesAnUnknownName(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := multicall([]string{"/usr/bin/box", "-version"}, &stdout, &stderr); code != 2 || stdout.Len() > 0 {
		t.Fatalf("box -version: exit %d, stdout %q; want 2 and nothing on stdout", code, stdout.String())
	}
	for _, want := range []string{"box:", "statemgrd, statemgr, statemgr-demo-service", "symlink", "box statemgr --help"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("box -version: stderr %q lacks %q", stderr.String(), want)
		}
	}
}

// The board build of the binary (-tags bmc), installed once with the other
// names as symlinks, runs each: the daemon serves NATS and supervises the
// demo service (its own binary again), the CLI called statemgr and as
// "statemgrd statemgr" talks to it, statemgr-demo-service probes it, and
// the development commands are not in it.
func TestMulticallBinaryRunsEachProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "statemgrd")
	if out, err := exec.Command("go", "build", "-tags", "bmc", "-o", bin, "github.com/statemgr/statemgr/cmd/statemgrd").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags bmc ./cmd/statemgrd: %v\n%s", err, out)
	}
	for _, name := range []string{"statemgr", "statemgr-demo-service", "box"} {
		if err := os.Symlink("statemgrd", filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	daemon := exec.Command(bin, "-data-dir", filepath.Join(dir, "data"), "-nats-listen", natsAddr, "-http-listen", httpAddr)
	var daemonOut syncBuffer
	daemon.Stdout, daemon.Stderr = &daemonOut, &daemonOut
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = daemon.Process.Signal(syscall.SIGTERM)
		if err := daemon.Wait(); err != nil {
			t.Errorf("statemgrd: %v", err)
		}
		if t.Failed() {
			t.Logf("statemgrd's output:\n%s", daemonOut.String())
		}
	})
	waitReady(t, "http://"+httpAddr+"/readyz")

	// run runs name from dir and returns its exit code and output.
	run := func(name string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, name), args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "NO_COLOR=1"}
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	url := "nats://" + natsAddr
	for _, cli := range [][]string{{"statemgr"}, {"statemgrd", "statemgr"}, {"box", "statemgr"}} {
		args := append(slices.Clone(cli[1:]), "-s", url, "list")
		if code, out := run(cli[0], args...); code != 0 || !strings.Contains(out, "chassis.0") || !strings.Contains(out, "host.0") {
			t.Errorf("%s %s: exit %d, want 0 and the components\n%s", cli[0], strings.Join(args, " "), code, out)
		}
	}
	if code, out := run("statemgr", "--version"); code != 0 || out != "statemgr version "+version+"\n" {
		t.Errorf("statemgr --version: exit %d, %q; want the binary's version %s", code, out, version)
	}
	// The default platform's demo service is "statemgrd demo-service": the
	// daemon started this binary again as the service.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out := run("statemgr", "-s", url, "get", "service.demo")
		if code == 0 && regexp.MustCompile(`(?m)^state:\s+Running$`).MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service.demo never reached Running under the multi-call binary: exit %d\n%s", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, out := run("statemgr-demo-service", "--probe", "http://"+httpAddr+"/readyz"); code != 0 {
		t.Errorf("statemgr-demo-service --probe the daemon's /readyz: exit %d\n%s", code, out)
	}
	if code, out := run("statemgr", "sim", "--help"); code != 2 || !strings.Contains(out, `unknown command "sim"`) {
		t.Errorf("statemgr sim in the board build: exit %d, want 2 (unknown command)\n%s", code, out)
	}
	if code, out := run("box", "-version"); code != 2 || !strings.Contains(out, "box statemgr --help") {
		t.Errorf("box -version: exit %d, want 2 saying how to choose a program\n%s", code, out)
	}
}
