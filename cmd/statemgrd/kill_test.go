package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoPID reads the pid the supervisor recorded for the demo service.
func demoPID(t *testing.T, dir string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "services", "demo.pid"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\d+`).Find(raw)
	pid, _ := strconv.Atoi(string(m))
	return pid
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// TestSIGKILLedDaemonLeavesNoOrphans kills a real daemon process with
// SIGKILL while it supervises the demo service, then starts a new daemon on
// the same data: the orphaned service process is found and stopped, the log
// records that the process was lost, and the service runs again.
func TestSIGKILLedDaemonLeavesNoOrphans(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	args := "-data-dir " + dir + " -http-listen " + addr + " -nats-listen " + freeAddr(t)
	child, _ := startChildDaemon(t, args)
	waitMetric(t, "http://"+addr+"/metrics", `statemgr_component_state{component="service.demo",state="Running"} 1`)
	orphan := demoPID(t, dir)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if !alive(orphan) {
		t.Fatal("the demo service died with the daemon: nothing to clean up, the test proves nothing")
	}

	var stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(strings.Fields(args), &bytes.Buffer{}, &stderr) }()
	waitMetric(t, "http://"+addr+"/metrics", `statemgr_component_state{component="service.demo",state="Running"} 1`)
	deadline := time.Now().Add(5 * time.Second)
	for alive(orphan) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(orphan) {
		t.Fatalf("orphan %d still running after the next start", orphan)
	}
	if fresh := demoPID(t, dir); fresh == orphan || !alive(fresh) {
		t.Fatalf("service not restarted: pid %d (orphan was %d)", fresh, orphan)
	}
	log := stderr.String()
	for _, want := range []string{"process left by a previous daemon", "pid=" + strconv.Itoa(orphan)} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if c := <-code; c != 0 {
		t.Fatalf("exit %d\n%s", c, log)
	}
	// The log explains what happened to the service.
	var causes []string
	for _, e := range serviceEvents(t, dir) {
		causes = append(causes, e.Cause)
	}
	if !strings.Contains(strings.Join(causes, "\n"), "the process of the previous daemon is gone") {
		t.Fatalf("service.demo's log does not record the lost process:\n%s", strings.Join(causes, "\n"))
	}
}
