package process

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
)

func demoService(name string, args ...string) platform.Service {
	return platform.Service{
		Name: name, Command: demoBin, Args: args, StopTimeout: 2 * time.Second,
		Restart:    platform.RestartPolicy{Policy: platform.RestartOnFailure, Delay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond},
		StartLimit: platform.StartLimit{Count: 5, Interval: 10 * time.Second},
	}
}

func healthz(addr string) string { return "http://" + addr + "/healthz" }

// Ensure a crash loop restarts with a growing delay, hits the start limit,
// is reported as thrashing and is not restarted again until reset.
func TestSupervisorCrashLoopHitsStartLimit(t *testing.T) {
	t.Parallel()
	svc := demoService("crasher", "--crash")
	svc.Restart.Policy = platform.RestartAlways
	svc.Restart.MaxDelay = time.Second // so the backoff does not start over between crashes
	svc.StartLimit = platform.StartLimit{Count: 3, Interval: 10 * time.Second}
	pids := t.TempDir()
	s, rec := newSupervisor(t, SupervisorConfig{Service: svc, PIDDir: pids})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	obs := rec.waitN(t, 6, 10*time.Second)
	want := []string{machine.ObservedInitialized, machine.ObservedRuntimeError, machine.ObservedInitialized,
		machine.ObservedRuntimeError, machine.ObservedInitialized, machine.ObservedRuntimeError}
	if got := rec.triggers(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("triggers %v, want %v", got, want)
	}
	if !obs[1].Restart || obs[1].RestartIn != 10*time.Millisecond || !obs[3].Restart || obs[3].RestartIn != 20*time.Millisecond {
		t.Errorf("restarts %v after %s and %v after %s, want after 10ms then 20ms",
			obs[1].Restart, obs[1].RestartIn, obs[3].Restart, obs[3].RestartIn)
	}
	last := obs[5]
	if last.Reason != ReasonThrashing || last.Restart || !strings.Contains(last.Cause, "3 starts within 10s") ||
		!strings.Contains(last.Cause, "exit code 2") || !strings.Contains(last.Cause, "crashing on start") {
		t.Fatalf("last observation %+v: want thrashing with the exit code and output, no restart", last)
	}
	if last.Input().Value != ReasonThrashing || last.Input().Kind != machine.KindObservation {
		t.Errorf("input %+v", last.Input())
	}
	rec.quiet(t, 6, 200*time.Millisecond)
	if left, _ := filepath.Glob(filepath.Join(pids, "*")); len(left) != 0 {
		t.Errorf("pid files left after the crashes: %v", left)
	}
	if err := s.Start(context.Background()); !errors.Is(err, ErrNeedsReset) {
		t.Fatalf("start while thrashing: %v, want ErrNeedsReset", err)
	}
	if err := s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("start after reset: %v", err)
	}
	rec.waitN(t, 7, 5*time.Second)
}

// Ensure an intentional stop is reported as stopped and never restarts,
// even with the always policy.
func TestSupervisorIntentionalStopNeverRestarts(t *testing.T) {
	t.Parallel()
	svc := demoService("steady")
	svc.Restart.Policy = platform.RestartAlways
	s, rec := newSupervisor(t, SupervisorConfig{Service: svc, PIDDir: t.TempDir()})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.waitN(t, 1, 5*time.Second)
	pid := s.PID()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	obs := rec.waitN(t, 2, 5*time.Second)
	if obs[1].Trigger != machine.ObservedStopped || obs[1].Reason != ReasonStopped || !strings.Contains(obs[1].Cause, "SIGTERM") {
		t.Fatalf("observation %+v, want stopped by SIGTERM", obs[1])
	}
	rec.quiet(t, 2, 300*time.Millisecond)
	if s.PID() != 0 || !gone(pid) {
		t.Fatalf("a process runs after the stop (pid %d, old %d gone %v)", s.PID(), pid, gone(pid))
	}
}

// Ensure a service ignoring SIGTERM is SIGKILLed after its stop timeout
// and still ends stopped, the forced kill named in the cause.
func TestSupervisorStopForced(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	svc := demoService("stubborn", "--ignore-sigterm", "--listen", addr)
	svc.StopTimeout = 300 * time.Millisecond
	// Ready once it listens, which it does after it set SIGTERM aside.
	svc.Readiness = &platform.Check{Kind: platform.CheckTCP, Address: addr, Interval: 20 * time.Millisecond, Threshold: 200}
	s, rec := newSupervisor(t, SupervisorConfig{Service: svc})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < svc.StopTimeout {
		t.Fatalf("stop took %s, less than the stop timeout", took)
	}
	obs := rec.waitN(t, 2, time.Second)[1]
	if obs.Trigger != machine.ObservedStopped || obs.Reason != ReasonKilled || !strings.Contains(obs.Cause, "SIGKILL") {
		t.Fatalf("observation %+v, want stopped, killed with SIGKILL", obs)
	}
}

// Ensure readiness by each kind of check: the service is initialized only
// once the check passes.
func TestSupervisorReadinessByKind(t *testing.T) {
	t.Parallel()
	const readyAfter = 300 * time.Millisecond
	tests := []struct {
		kind  platform.CheckKind
		check func(addr string) platform.Check
	}{
		{platform.CheckHTTP, func(addr string) platform.Check {
			return platform.Check{Kind: platform.CheckHTTP, URL: healthz(addr)}
		}},
		{platform.CheckTCP, func(addr string) platform.Check {
			return platform.Check{Kind: platform.CheckTCP, Address: addr}
		}},
		{platform.CheckCommand, func(addr string) platform.Check {
			return platform.Check{Kind: platform.CheckCommand, Command: []string{demoBin, "--probe", healthz(addr)}}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			addr := freeAddr(t)
			svc := demoService("ready-"+string(tt.kind), "--listen", addr, "--ready-after", readyAfter.String())
			check := tt.check(addr)
			check.Interval, check.Timeout, check.Threshold = 50*time.Millisecond, 500*time.Millisecond, 100
			svc.Readiness = &check
			s, rec := newSupervisor(t, SupervisorConfig{Service: svc})
			begin := time.Now()
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			obs := rec.waitN(t, 1, 5*time.Second)[0]
			if took := time.Since(begin); took < readyAfter {
				t.Fatalf("initialized after %s, before the service was ready (%s)", took, readyAfter)
			}
			if obs.Trigger != machine.ObservedInitialized || obs.Check == nil || !obs.Check.OK || obs.Check.Kind != tt.kind {
				t.Fatalf("observation %+v, want initialized by a passing %s check", obs, tt.kind)
			}
		})
	}
	t.Run("report", func(t *testing.T) {
		t.Parallel()
		svc := demoService("ready-report")
		svc.Readiness = &platform.Check{Kind: platform.CheckReport, Interval: 100 * time.Millisecond, Threshold: 50}
		s, rec := newSupervisor(t, SupervisorConfig{Service: svc})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		rec.quiet(t, 0, 200*time.Millisecond)
		if err := s.ReportReady(); err != nil {
			t.Fatal(err)
		}
		if obs := rec.waitN(t, 1, time.Second)[0]; obs.Trigger != machine.ObservedInitialized || obs.Cause != "the service reported ready" {
			t.Fatalf("observation %+v, want initialized by the report", obs)
		}
	})
}

// Ensure the ways a start fails: readiness never reached (with the check's
// output), the process exiting while starting (with its exit code), and
// the service reporting failure.
func TestSupervisorInitializationFailed(t *testing.T) {
	t.Parallel()
	closed := freeAddr(t)
	tests := []struct {
		name   string
		svc    func() platform.Service
		report string
		reason string
		cause  []string
	}{
		{"readiness", func() platform.Service {
			svc := demoService("never-ready")
			svc.Readiness = &platform.Check{Kind: platform.CheckHTTP, URL: healthz(closed), Interval: 50 * time.Millisecond, Threshold: 4}
			return svc
		}, "", ReasonReadiness, []string{"not ready within 200ms", "connection refused"}},
		{"exit", func() platform.Service {
			svc := demoService("dies-starting", "--ready-after", "10s", "--fail-after", "50ms")
			svc.Readiness = &platform.Check{Kind: platform.CheckTCP, Address: closed, Interval: 50 * time.Millisecond, Threshold: 100}
			return svc
		}, "", ReasonExited, []string{"exited while starting: exit code 3", "failing before ready"}},
		{"report", func() platform.Service {
			svc := demoService("reports-failure")
			svc.Readiness = &platform.Check{Kind: platform.CheckReport, Interval: 100 * time.Millisecond, Threshold: 50}
			return svc
		}, "database unreachable", ReasonReport, []string{"the service reported failure: database unreachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := tt.svc()
			svc.Restart.Policy = platform.RestartNever
			s, rec := newSupervisor(t, SupervisorConfig{Service: svc})
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.report != "" {
				if err := s.ReportFailed(tt.report); err != nil {
					t.Fatal(err)
				}
			}
			obs := rec.waitN(t, 1, 5*time.Second)[0]
			if obs.Trigger != machine.ObservedInitializationFailed || obs.Reason != tt.reason || obs.Restart {
				t.Fatalf("observation %+v, want initialization_failed (%s), no restart", obs, tt.reason)
			}
			for _, c := range tt.cause {
				if !strings.Contains(obs.Cause, c) {
					t.Errorf("cause %q lacks %q", obs.Cause, c)
				}
			}
			waitNoProcess(t, s)
			rec.quiet(t, 1, 200*time.Millisecond)
		})
	}
}

// Ensure a failing liveness check is a runtime error naming the check and
// its output, and restarts the service by policy.
func TestSupervisorLivenessRestarts(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	svc := demoService("flaky", "--listen", addr, "--healthy-requests", "3") // readiness takes one
	svc.Readiness = &platform.Check{Kind: platform.CheckHTTP, URL: healthz(addr), Interval: 50 * time.Millisecond, Threshold: 100}
	svc.Liveness = &platform.Check{Kind: platform.CheckHTTP, URL: healthz(addr), Interval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond, Threshold: 3}
	s, rec := newSupervisor(t, SupervisorConfig{Service: svc})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.waitN(t, 1, 5*time.Second)
	first := s.PID()
	obs := rec.waitN(t, 3, 5*time.Second)
	failure := obs[1]
	if failure.Trigger != machine.ObservedRuntimeError || failure.Reason != ReasonLiveness || !failure.Restart ||
		!strings.HasPrefix(failure.Cause, "liveness check failed: http "+healthz(addr)+": HTTP 500: unhealthy") {
		t.Fatalf("observation %+v, want a liveness runtime_error with the check's output, then a restart", failure)
	}
	if obs[2].Trigger != machine.ObservedInitialized {
		t.Fatalf("after the liveness failure: %+v, want initialized again", obs[2])
	}
	if second := s.PID(); second == first || second == 0 || !gone(first) {
		t.Fatalf("pid %d after restart, was %d (gone %v): want a new process and the old one gone", second, first, gone(first))
	}
}

// Ensure Restart reports stopped, then starts a new process.
func TestSupervisorRestartRequest(t *testing.T) {
	t.Parallel()
	s, rec := newSupervisor(t, SupervisorConfig{Service: demoService("restarted")})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.waitN(t, 1, 5*time.Second)
	first := s.PID()
	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.waitN(t, 3, 5*time.Second)
	want := machine.ObservedInitialized + " " + machine.ObservedStopped + " " + machine.ObservedInitialized
	if got := strings.Join(rec.triggers(), " "); got != want {
		t.Fatalf("triggers %q, want %q", got, want)
	}
	if second := s.PID(); second == first || second == 0 {
		t.Fatalf("pid %d after restart, was %d", second, first)
	}
}

// Ensure on-failure does not restart a clean exit, and Close stops a
// running service and ends the supervisor.
func TestSupervisorCleanExitAndClose(t *testing.T) {
	t.Parallel()
	svc := demoService("oneshot")
	svc.Command, svc.Args = "/bin/true", nil
	s, rec := newSupervisor(t, SupervisorConfig{Service: svc})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	obs := rec.waitN(t, 2, 5*time.Second)[1]
	if obs.Trigger != machine.ObservedRuntimeError || obs.Restart || obs.Exit == nil || !obs.Exit.Success() {
		t.Fatalf("observation %+v, want runtime_error for an unexpected clean exit, without restart", obs)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("start after a clean exit: %v", err)
	}
	rec.waitN(t, 3, 5*time.Second)

	running, rec2 := newSupervisor(t, SupervisorConfig{Service: demoService("closed")})
	if err := running.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec2.waitN(t, 1, 5*time.Second)
	pid := running.PID()
	if err := running.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rec2.triggers(); len(got) != 2 || got[1] != machine.ObservedStopped || !gone(pid) {
		t.Fatalf("after close: %v, process gone %v; want stopped and gone", got, gone(pid))
	}
	if err := running.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: %v, want ErrClosed", err)
	}
}

func TestNewSupervisorErrors(t *testing.T) {
	t.Parallel()
	observe := func(Observation) {}
	tests := []SupervisorConfig{
		{Service: platform.Service{Name: "x", Command: "/bin/true"}},
		{Service: platform.Service{Name: "x", Command: "/bin/true", StopSignal: "SIGNOPE"}, Observe: observe},
		{Service: platform.Service{Name: "x", Command: "/bin/true", Liveness: &platform.Check{Kind: platform.CheckReport}}, Observe: observe},
		{Service: platform.Service{Name: "x", Command: "/bin/true", Readiness: &platform.Check{Kind: "udp"}}, Observe: observe},
	}
	for i, cfg := range tests {
		if _, err := NewSupervisor(cfg); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("config %d: %v, want ErrInvalidSpec", i, err)
		}
	}
}

// Ensure WaitReady waits through a restart by policy: the first attempt
// fails while starting, the second becomes ready.
func TestSupervisorWaitReadyThroughRestart(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	flag := filepath.Join(t.TempDir(), "second-attempt")
	svc := demoService("second-try")
	svc.Command = "/bin/sh"
	svc.Args = []string{"-c", `if [ -e "$1" ]; then exec "$2" --listen "$3"; fi; touch "$1"; echo "first attempt fails" >&2; exit 1`,
		"sh", flag, demoBin, addr}
	svc.Readiness = &platform.Check{Kind: platform.CheckTCP, Address: addr, Interval: 20 * time.Millisecond, Threshold: 200}
	s, rec := newSupervisor(t, SupervisorConfig{Service: svc})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitReady(context.Background()); err != nil {
		t.Fatalf("wait ready: %v", err)
	}
	obs := rec.waitN(t, 2, time.Second)
	if obs[0].Trigger != machine.ObservedInitializationFailed || !obs[0].Restart || !strings.Contains(obs[0].Cause, "first attempt fails") ||
		obs[1].Trigger != machine.ObservedInitialized {
		t.Fatalf("observations %+v, want a failed start with its output, then initialized", obs)
	}
}

// waitNoProcess waits until the supervisor has no process left.
func waitNoProcess(t *testing.T, s *Supervisor) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); s.PID() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", s.PID())
		}
	}
}
