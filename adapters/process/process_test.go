package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ensure a clean stop: SIGTERM ends the demo service, which exits 0, and
// its pid file lives exactly as long as it does.
func TestProcessStopClean(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Start(context.Background(), Spec{Name: "demo", Command: demoBin, StopTimeout: 5 * time.Second},
		Options{Logger: testLogger(t, nil), PIDDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, p, "stdout: ready")
	rec, err := readPIDFile(filepath.Join(dir, "demo.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.PID != p.PID() || rec.PGID != p.PID() || rec.StopSignal != "SIGTERM" {
		t.Fatalf("pid file %+v, want pid and pgid %d and SIGTERM", rec, p.PID())
	}
	res, err := p.Stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Forced || !res.Exit.Success() {
		t.Fatalf("stop %s: want a clean exit without SIGKILL", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "demo.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file after stop: %v, want it removed", err)
	}
	if !slices.Contains(p.Output(5), "stdout: stopping") {
		t.Fatalf("output %q lacks the service's own stop message", p.Output(5))
	}
}

// Ensure a process ignoring SIGTERM is SIGKILLed after the stop timeout.
func TestProcessStopForcedAfterTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	p, err := Start(context.Background(), Spec{Name: "stubborn", Command: demoBin, Args: []string{"--ignore-sigterm"}, StopTimeout: timeout},
		Options{Logger: testLogger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, p, "stdout: ready")
	begin := time.Now()
	res, err := p.Stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < timeout {
		t.Fatalf("stop took %s, shorter than the stop timeout %s", took, timeout)
	}
	if !res.Forced || res.Exit.Signal != syscall.SIGKILL {
		t.Fatalf("stop %s: want forced, killed by SIGKILL", res)
	}
}

// Ensure Stop reaches the whole process group, not just the leader.
func TestProcessStopKillsWholeGroup(t *testing.T) {
	t.Parallel()
	p, err := Start(context.Background(), Spec{Name: "shell", Command: "/bin/sh",
		Args: []string{"-c", "sleep 30 & sleep 30 & echo started; wait"}, StopTimeout: 2 * time.Second},
		Options{Logger: testLogger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, p, "stdout: started")
	members, err := groupMembers(p.PID())
	if err != nil || len(members) != 3 {
		t.Fatalf("group members %v (%v), want the shell and two sleeps", members, err)
	}
	if _, err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, pid := range members {
		if !gone(pid) {
			t.Errorf("group member %d survived the stop", pid)
		}
	}
}

// Ensure the exit is reported with its code or signal, and the output is
// kept for the cause.
func TestProcessExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
		line string
	}{
		{"crash", []string{"--crash"}, "exit code 2", "stderr: crashing on start, as asked"},
		{"fail", []string{"--fail-after", "50ms"}, "exit code 3", "stderr: failing, as asked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Start(context.Background(), Spec{Name: tt.name, Command: demoBin, Args: tt.args}, Options{Logger: testLogger(t, nil)})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("process did not exit")
			}
			if got := p.Exit().String(); got != tt.want {
				t.Errorf("exit %q, want %q", got, tt.want)
			}
			if !slices.Contains(p.Output(5), tt.line) {
				t.Errorf("output %q lacks %q", p.Output(5), tt.line)
			}
		})
	}
}

// Ensure output is captured line by line, a long line cut at MaxLineBytes
// and only the last lines kept.
func TestProcessOutputBounded(t *testing.T) {
	t.Parallel()
	p, err := Start(context.Background(), Spec{Name: "chatty", Command: "/bin/sh",
		Args: []string{"-c", `head -c 10000 /dev/zero | tr '\0' a; echo; for i in 1 2 3 4 5; do echo line $i; done`}},
		Options{Logger: testLogger(t, nil), OutputLines: 4})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	want := []string{"stdout: line 2", "stdout: line 3", "stdout: line 4", "stdout: line 5"}
	if got := p.Output(10); !slices.Equal(got, want) {
		t.Fatalf("output %q, want %q", got, want)
	}
	long := newRing(8)
	capture(strings.NewReader(strings.Repeat("b", 3*MaxLineBytes)+"\nshort\n"), "stdout", testLogger(t, nil), long)
	got := long.last(8)
	if len(got) != 2 || len(got[0]) != len("stdout: ")+MaxLineBytes || got[1] != "stdout: short" {
		t.Fatalf("long line kept as %d lines, first %d bytes; want it cut at %d", len(got), len(got[0]), MaxLineBytes)
	}
}

// Ensure bad definitions and spawn failures are typed errors naming the
// service.
func TestStartErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec Spec
		want error
	}{
		{"no command", Spec{Name: "x"}, ErrInvalidSpec},
		{"bad name", Spec{Name: "../x", Command: "/bin/true"}, ErrInvalidSpec},
		{"missing binary", Spec{Name: "x", Command: "/nonexistent/statemgr-demo"}, ErrSpawn},
		{"unknown user", Spec{Name: "x", Command: "/bin/true", User: "statemgr-no-such-user"}, ErrUser},
	}
	for _, tt := range tests {
		_, err := Start(context.Background(), tt.spec, Options{})
		var se *ServiceError
		if !errors.Is(err, tt.want) || !errors.As(err, &se) || se.Service != tt.spec.Name {
			t.Errorf("%s: error %v, want %v in a *ServiceError", tt.name, err, tt.want)
		}
	}
	if _, err := credential("nobody", 1000); !errors.Is(err, ErrUser) || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("switching user as non-root: %v, want ErrUser saying root is needed", err)
	}
}

// Ensure a process whose pid file cannot be written is not kept: it could
// outlive a crash of the daemon unnoticed.
func TestStartPIDFileFailureKills(t *testing.T) {
	t.Parallel()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	_, err := Start(context.Background(), Spec{Name: "unrecorded", Command: demoBin}, Options{Logger: testLogger(t, &logs), PIDDir: notDir})
	if !errors.Is(err, ErrPIDFile) {
		t.Fatalf("start: %v, want ErrPIDFile", err)
	}
	var pid int
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "process started") {
			if i := strings.Index(line, "pid="); i >= 0 {
				if _, err := fmt.Sscanf(line[i:], "pid=%d", &pid); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if pid == 0 || !gone(pid) {
		t.Fatalf("process %d (from the logs) still runs after its pid file failed", pid)
	}
}

// Ensure the service's user, environment and working directory apply.
func TestProcessUserEnvDir(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	dir, err := os.MkdirTemp("", "statemgr-process-user-") // t.TempDir's parent is closed to other users
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), Spec{Name: "as-nobody", Command: "/bin/sh",
		Args: []string{"-c", `echo "$DEMO_VAR $(pwd) $(id -un)"`}, Env: map[string]string{"DEMO_VAR": "hello"},
		WorkingDir: dir, User: "nobody"}, Options{Logger: testLogger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	want := "stdout: hello " + dir + " nobody"
	if !slices.Contains(p.Output(5), want) {
		t.Fatalf("output %q, want %q", p.Output(5), want)
	}
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	line := "1234 (we ird) (name) S 1 4321 4321 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 1\n"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != 'S' || st.PGID != 4321 || st.StartTicks != 987654 {
		t.Fatalf("parsed %+v", st)
	}
	if _, err := parseStat([]byte("1234 (x) S 1")); err == nil {
		t.Fatal("a truncated stat parsed")
	}
}

func waitOutput(t *testing.T, p *Process, line string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(p.Output(DefaultOutputLines), line) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output %q", line, p.Output(DefaultOutputLines))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
