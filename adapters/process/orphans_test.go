package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ensure the child of a SIGKILLed daemon is found through its pid file,
// stopped and logged by CleanupOrphans on the next start. The "daemon" is
// this test binary run again as a helper that starts the demo service.
func TestCleanupOrphansAfterParentSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), helperEnv+"=orphan-parent", helperPIDDirEnv+"="+dir, helperDemoEnv+"="+demoBin)
	parent.Stderr = os.Stderr
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	child := readPID(t, bufio.NewScanner(out))
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := parent.Wait(); err == nil {
		t.Fatal("the helper parent exited cleanly; want it killed")
	}
	t.Cleanup(func() { _ = syscall.Kill(-child, syscall.SIGKILL) }) // should the test fail halfway
	if gone(child) {
		t.Fatal("the child died with its parent; nothing left to clean up")
	}

	var logs syncBuffer
	orphans, err := CleanupOrphans(context.Background(), dir, Options{Logger: testLogger(t, &logs)})
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) != 1 || orphans[0].PID != child || orphans[0].Service != "orphaned" || orphans[0].Action != OrphanStopped {
		t.Fatalf("orphans %+v, want the demo service (pid %d) stopped", orphans, child)
	}
	if !gone(child) {
		t.Fatalf("pid %d still runs after the cleanup", child)
	}
	if _, err := os.Stat(filepath.Join(dir, "orphaned.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file after cleanup: %v, want removed", err)
	}
	if l := logs.String(); !strings.Contains(l, "process left by a previous run") || !strings.Contains(l, fmt.Sprintf("pid=%d", child)) {
		t.Fatalf("the cleanup was not logged with the pid:\n%s", l)
	}
}

// Ensure CleanupOrphans leaves alone a process whose pid matches a pid
// file but whose start time (or boot) does not, and removes stale and
// malformed files.
func TestCleanupOrphansLeavesReusedPID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stranger := exec.Command("sleep", "30")
	stranger.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stranger.Process.Kill()
		_ = stranger.Wait()
	})
	pid := stranger.Process.Pid
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	boot, err := bootID()
	if err != nil {
		t.Fatal(err)
	}
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	write := func(name string, rec pidRecord) {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+pidSuffix), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("reused", pidRecord{Service: "reused", PID: pid, PGID: pid, StartTicks: st.StartTicks + 1, BootID: boot, StopSignal: "SIGTERM", StopTimeout: "1s"})
	write("earlier-boot", pidRecord{Service: "earlier-boot", PID: pid, PGID: pid, StartTicks: st.StartTicks, BootID: "not-this-boot", StopSignal: "SIGTERM", StopTimeout: "1s"})
	write("exited", pidRecord{Service: "exited", PID: exited.Process.Pid, PGID: exited.Process.Pid, StartTicks: 1, BootID: boot, StopSignal: "SIGTERM", StopTimeout: "1s"})
	if err := os.WriteFile(filepath.Join(dir, "garbage.pid"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}

	orphans, err := CleanupOrphans(context.Background(), dir, Options{Logger: testLogger(t, nil)})
	if !errors.Is(err, ErrPIDFile) {
		t.Errorf("error %v, want ErrPIDFile for the malformed file", err)
	}
	got := map[string]OrphanAction{}
	for _, o := range orphans {
		got[o.Service] = o.Action
	}
	want := map[string]OrphanAction{"reused": OrphanReused, "earlier-boot": OrphanStaleBoot, "exited": OrphanGone, "garbage": OrphanMalformed}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	if gone(pid) {
		t.Fatal("CleanupOrphans killed a process that was not ours")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
	if orphans, err := CleanupOrphans(context.Background(), filepath.Join(dir, "absent"), Options{}); err != nil || len(orphans) != 0 {
		t.Errorf("missing directory: %v %v, want nothing to do", orphans, err)
	}
}

// Ensure a stop gives up waiting at once when its context ends, and goes
// to SIGKILL.
func TestProcessStopContextEscalates(t *testing.T) {
	t.Parallel()
	p, err := Start(context.Background(), Spec{Name: "stubborn-ctx", Command: demoBin, Args: []string{"--ignore-sigterm"}, StopTimeout: time.Minute},
		Options{Logger: testLogger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, p, "stdout: ready")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := p.Stop(ctx)
	if err != nil || !res.Forced || res.Exit.Signal != syscall.SIGKILL {
		t.Fatalf("stop %s (%v): want SIGKILL once the context ended", res, err)
	}
}

// Ensure StartCleanup returns while an orphan that ignores its stop signal
// is still alive, saying how it is being stopped, and that the cleanup
// then ends it (SIGKILL once the context ends, here long before its stop
// timeout) and removes its pid file.
func TestStartCleanupReturnsBeforeTheGroupEnds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Start(context.Background(), Spec{Name: "stubborn", Command: demoBin, Args: []string{"--ignore-sigterm"}, StopTimeout: time.Minute},
		Options{Logger: testLogger(t, nil), PIDDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = p.Kill(context.Background()) })
	waitOutput(t, p, "stdout: ready")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cleanups, err := StartCleanup(ctx, dir, Options{Logger: testLogger(t, nil)})
	if err != nil || len(cleanups) != 1 {
		t.Fatalf("cleanups %v, %v: want the stubborn service's", cleanups, err)
	}
	c := cleanups[0]
	if f := c.Found(); f.PID != p.PID() || f.Signal != "SIGTERM" || f.StopTimeout != time.Minute || f.Action != "" {
		t.Fatalf("found %+v: want pid %d being stopped with SIGTERM, SIGKILL after 1m", f, p.PID())
	}
	select {
	case <-c.Done():
		t.Fatal("the cleanup ended while the process ignores SIGTERM and its stop timeout is a minute away")
	case <-p.Done():
		t.Fatal("the process is gone already; it ignores SIGTERM")
	default:
	}
	cancel()
	o, err := c.Result()
	if err != nil || o.Action != OrphanKilled {
		t.Fatalf("result %+v, %v: want killed", o, err)
	}
	<-p.Done()
	if _, err := os.Stat(filepath.Join(dir, "stubborn.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file after the cleanup: %v, want removed", err)
	}
}
