package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

// stubbornPlatform writes the default platform with its demo service
// ignoring SIGTERM and the given stop timeout, and returns its path.
func stubbornPlatform(t *testing.T, dir, stopTimeout string) string {
	t.Helper()
	src := string(platform.DefaultSource())
	for old, repl := range map[string]string{
		`args         = ["demo-service", "--ready-after", "200ms"]`: `args         = ["demo-service", "--ready-after", "200ms", "--ignore-sigterm"]`,
		`stop_timeout = "10s"`: `stop_timeout = "` + stopTimeout + `"`,
	} {
		if !strings.Contains(src, old) {
			t.Fatalf("the default platform has no %s", old)
		}
		src = strings.Replace(src, old, repl, 1)
	}
	path := filepath.Join(dir, "stubborn.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// running reports whether pid is a live process, not a zombie: an orphan
// whose parent died may stay a zombie until whoever adopted it reaps it.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// demoClient connects to a daemon's NATS API.
func demoClient(t *testing.T, natsAddr string, opts ...nats.Option) *client.Client {
	t.Helper()
	nc, err := nats.Connect("nats://"+natsAddr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return client.New(nc)
}

// awaitService polls service.demo until it is in state, and returns it.
func awaitService(t *testing.T, cl *client.Client, state string) server.Component {
	t.Helper()
	var last server.Component
	for i := 0; i < 1000; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := cl.Get(ctx, "service.demo")
		cancel()
		if err == nil && c.State == state {
			return c
		}
		last = c
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("service.demo never reached %s: %+v", state, last)
	return last
}

// awaitDemoReady waits until the daemon logging to log has read the demo
// service's "ready": the daemon reports the demo Running when it spawns (it
// has no readiness check), before the demo has set up its signals.
func awaitDemoReady(t *testing.T, log *syncBuffer) {
	t.Helper()
	for i := 0; !strings.Contains(log.String(), `stream=stdout line=ready`); i++ {
		if i == 1000 {
			t.Fatalf("the demo service never printed ready:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// crashWhileStubborn runs a daemon (a child process) whose demo service
// ignores SIGTERM, stops the service through the API if stop is set, and
// SIGKILLs the daemon: it returns the service's pid, alive, orphaned.
func crashWhileStubborn(t *testing.T, args string, stop bool, natsAddr, httpAddr, dir string) int {
	t.Helper()
	child, childLog := startChildDaemon(t, args)
	waitMetric(t, "http://"+httpAddr+"/metrics", `statemgr_component_state{component="service.demo",state="Running"} 1`)
	// Killing the daemon before the demo printed "ready" would kill the
	// demo too (SIGPIPE: the reader of its output is gone).
	awaitDemoReady(t, childLog)
	orphan := demoPID(t, dir)
	t.Cleanup(func() { _ = syscall.Kill(-orphan, syscall.SIGKILL) }) // should the test fail halfway
	if stop {
		cl := demoClient(t, natsAddr)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var reply server.ControlReply
		err := cl.Request(ctx, server.SubjectServiceStop, server.ControlRequest{ID: "service.demo"}, &reply)
		cancel()
		if err != nil || reply.State != machine.StateStopping {
			t.Fatalf("service.stop: %+v, %v; want Stopping", reply, err)
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if !running(orphan) {
		t.Fatalf("the demo service (pid %d) died with the daemon: it ignores SIGTERM and should be left behind\n%s", orphan, childLog.String())
	}
	return orphan
}

// serviceEvents reads service.demo's stream from the log of a stopped
// daemon in dir.
func serviceEvents(t *testing.T, dir string) []events.Event {
	t.Helper()
	l, err := badger.Open(badger.Options{Dir: filepath.Join(dir, "events"), Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	evs, err := l.ReadStream(context.Background(), "service.demo", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// serviceTransitions reads service.demo's transitions from the log of a
// stopped daemon, one "from -> to: cause" a line.
func serviceTransitions(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	for _, e := range serviceEvents(t, dir) {
		r, err := actors.DecodeRecord(e)
		if err != nil {
			t.Fatal(err)
		}
		if r.Event.Type == machine.EventTransition {
			lines = append(lines, fmt.Sprintf("%s -> %s: %s", r.Event.From, r.Event.To, r.Event.Cause))
		}
	}
	return strings.Join(lines, "\n")
}

// TestStoppingServiceOfAKilledDaemonRecoversStopped is issue 22 item 4: a
// service that ignores SIGTERM is asked to stop, the daemon is killed -9,
// and a new daemon starts on the same data while the old process still
// runs. The new daemon answers the API while that process is alive (it is
// stopped in the background: the stop timeout is ten minutes, so a daemon
// that waited for it would not answer before the process is gone), the
// service shows Stopping meanwhile, and once the process is gone it is
// Stopped with evidence naming the pid, never Error.
func TestStoppingServiceOfAKilledDaemonRecoversStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	args := "-data-dir " + dir + " -http-listen " + httpAddr + " -nats-listen " + natsAddr + " -platform " + stubbornPlatform(t, dir, "10m")
	orphan := crashWhileStubborn(t, args, true, natsAddr, httpAddr, dir)

	var stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(strings.Fields(args), &bytes.Buffer{}, &stderr) }()
	waitReady(t, "http://"+httpAddr+"/readyz")
	cl := demoClient(t, natsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	during, err := cl.Get(ctx, "service.demo")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if !running(orphan) {
		t.Fatalf("the old process %d is gone before the API answered: the daemon waited for it\n%s", orphan, stderr.String())
	}
	if during.State != machine.StateStopping {
		t.Fatalf("while the old process is being stopped: %s (%s), want Stopping", during.State, during.Cause)
	}
	// The process goes away (here by the test's hand, as an operator's
	// kill or its own exit would): the cleanup sees it gone.
	if err := syscall.Kill(orphan, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	after := awaitService(t, cl, machine.StateStopped)
	if !strings.Contains(after.Cause, "pid "+strconv.Itoa(orphan)) {
		t.Fatalf("Stopped without evidence naming pid %d: %q", orphan, after.Cause)
	}
	stopWithSIGTERM(t, code, &stderr)
	if tr := serviceTransitions(t, dir); strings.Contains(tr, "-> "+machine.StateError) {
		t.Fatalf("service.demo went through Error:\n%s", tr)
	}
}

// TestStubbornServiceOfAKilledDaemonIsKilledAndObserved is the case where
// the old process outlives the restart and the cleanup has to end it: it
// gets its stop signal, ignores it, is killed after its stop timeout, and
// only then does the service move on: a stopped service is Stopped, a
// running one runs again as a new process; each with evidence naming the
// old pid, and never Error.
func TestStubbornServiceOfAKilledDaemonIsKilledAndObserved(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	for _, tc := range []struct {
		name string
		stop bool
		want string
	}{
		{"stopping", true, machine.StateStopped},
		{"running", false, machine.StateRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
			args := "-data-dir " + dir + " -http-listen " + httpAddr + " -nats-listen " + natsAddr + " -platform " + stubbornPlatform(t, dir, "1s")
			orphan := crashWhileStubborn(t, args, tc.stop, natsAddr, httpAddr, dir)

			var stderr syncBuffer
			code := make(chan int, 1)
			go func() { code <- run(strings.Fields(args), &bytes.Buffer{}, &stderr) }()
			waitReady(t, "http://"+httpAddr+"/readyz")
			cl := demoClient(t, natsAddr)
			awaitService(t, cl, tc.want)
			if running(orphan) {
				t.Fatalf("service.demo is %s while its old process %d still runs", tc.want, orphan)
			}
			if tc.want == machine.StateRunning {
				if fresh := demoPID(t, dir); fresh == orphan || !running(fresh) {
					t.Fatalf("not running a new process: pid %d (the old one was %d)", fresh, orphan)
				}
			}
			stopWithSIGTERM(t, code, &stderr)
			tr := serviceTransitions(t, dir)
			if strings.Contains(tr, "-> "+machine.StateError) {
				t.Fatalf("service.demo went through Error:\n%s", tr)
			}
			if want := "pid " + strconv.Itoa(orphan); !strings.Contains(tr, want) || !strings.Contains(tr, "SIGKILL") {
				t.Fatalf("the log does not say the old process %d was killed by the cleanup:\n%s\n%s", orphan, tr, stderr.String())
			}
		})
	}
}

// TestStubbornServiceStopEndsStopped stops, through the API of a running
// daemon, a service that ignores SIGTERM: its supervisor kills it after
// the stop timeout, and the service is Stopped (the kill named in the
// cause), not Error: the machine does not race the supervisor with a
// timeout of its own.
func TestStubbornServiceStopEndsStopped(t *testing.T) {
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	args := []string{"-data-dir", dir, "-http-listen", httpAddr, "-nats-listen", natsAddr, "-platform", stubbornPlatform(t, dir, "1s")}
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(args, &bytes.Buffer{}, &stderr) }()
	awaitDemoReady(t, &stderr)
	cl := demoClient(t, natsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	var reply server.ControlReply
	err := cl.Request(ctx, server.SubjectServiceStop, server.ControlRequest{ID: "service.demo", Wait: "20s"}, &reply)
	cancel()
	if err != nil || reply.Outcome == nil || reply.Outcome.State != machine.StateStopped {
		t.Fatalf("service.stop: %+v %+v, %v; want Stopped", reply, reply.Outcome, err)
	}
	if !strings.Contains(reply.Outcome.Cause, "SIGKILL") {
		t.Fatalf("cause %q does not name the kill", reply.Outcome.Cause)
	}
	stopWithSIGTERM(t, code, &stderr)
}
