package protoactor

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestDispatcherKeepsFewWorkersParked: a burst of mailboxes running at once
// (a boot starting every component) gets a worker each, but afterwards at
// most maxParkedWorkers stay parked, and work scheduled later still runs.
func TestDispatcherKeepsFewWorkersParked(t *testing.T) {
	d := newWorkerDispatcher()
	defer d.stop()
	before := runtime.NumGoroutine()
	const burst = 200
	release := make(chan struct{})
	var ran sync.WaitGroup
	ran.Add(burst)
	for range burst {
		d.Schedule(func() {
			<-release // all of them run at once
			ran.Done()
		})
	}
	close(release)
	ran.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine()-before > maxParkedWorkers && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine() - before; n > maxParkedWorkers {
		t.Fatalf("%d workers left after a burst of %d, want at most %d", n, burst, maxParkedWorkers)
	}
	if p := d.parked.Load(); p > maxParkedWorkers {
		t.Fatalf("parked = %d, want at most %d", p, maxParkedWorkers)
	}
	done := make(chan struct{})
	d.Schedule(func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("work scheduled after the burst did not run")
	}
}
