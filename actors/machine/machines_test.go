package machine

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestChassisTransitions(t *testing.T) {
	powerStatus := func(want string) func(*testing.T, Status, []Event) {
		return func(t *testing.T, st Status, _ []Event) { wantField(t, "power status", st.PowerStatus, want) }
	}
	cases := []stepCase{
		{name: "On sequences power", state: StateOff, in: req(RequestOn), want: StateTransitioningToOn, effects: []string{"sequence_power_on"}},
		{name: "out-of-band power on", state: StateOff, in: obs(ObservedPowerGoodAsserted), want: StateOn},
		{name: "power good completes power on", state: StateTransitioningToOn, in: obs(ObservedPowerGoodAsserted), want: StateOn},
		{name: "Off aborts power on", state: StateTransitioningToOn, in: req(RequestOff), want: StateTransitioningToOff, effects: []string{"sequence_power_off"}},
		{name: "power on times out and rails go down", state: StateTransitioningToOn, in: tick(), after: 15 * time.Second, want: StateError,
			effects: []string{"sequence_power_off", "alert(reason=chassis power good not asserted within 15s)"}},
		{name: "Off sequences power down", state: StateOn, in: req(RequestOff).with("hosts_off"), want: StateTransitioningToOff, effects: []string{"sequence_power_off"}},
		{name: "PowerCycle starts with off", state: StateOn, in: req(RequestPowerCycle).with("hosts_off"), want: StatePowerCycling, effects: []string{"sequence_power_off"}},
		{name: "power lost while On", state: StateOn, in: obs(ObservedPowerGoodDeasserted), want: StateOff,
			effects: []string{"alert(reason=chassis power good lost while On)"}},
		{name: "power off completes", state: StateTransitioningToOff, in: obs(ObservedPowerGoodDeasserted), want: StateOff},
		{name: "power off times out", state: StateTransitioningToOff, in: tick(), after: 10 * time.Second, want: StateError,
			effects: []string{"alert(reason=chassis power good still asserted 10s after power off)"}},
		{name: "cycle powers back on after the off time", state: StatePowerCycling, in: obs(ObservedPowerGoodDeasserted), want: StateTransitioningToOn,
			effects: []string{"sequence_power_on(delay=5s)"}},
		{name: "cycle off phase times out", state: StatePowerCycling, in: tick(), after: 11 * time.Second, want: StateError,
			effects: []string{"alert(reason=chassis power good still asserted 10s into a power cycle)"}},
		{name: "Off from Error", state: StateError, in: req(RequestOff), want: StateTransitioningToOff, effects: []string{"sequence_power_off"}},
		{name: "PowerCycle from Error", state: StateError, in: req(RequestPowerCycle), want: StatePowerCycling, effects: []string{"sequence_power_off"}},
		{name: "Error resolves to Off", state: StateError, in: obs(ObservedPowerGoodDeasserted), want: StateOff},
		{name: "Error resolves to On", state: StateError, in: obs(ObservedPowerGoodAsserted), want: StateOn},
	}
	for _, s := range Chassis(DefaultChassisConfig()).States {
		cases = append(cases, stepCase{name: "power status in " + s.Name, state: s.Name,
			in: obs(ObservedPowerStatus).value(PowerStatusBrownOut), want: s.Name, check: powerStatus(PowerStatusBrownOut)})
	}
	runSteps(t, Chassis(DefaultChassisConfig()), cases)
}

func TestChassisRejections(t *testing.T) {
	checkRejections(t, Chassis(DefaultChassisConfig()))

	c := mustCompile(t, Chassis(DefaultChassisConfig()))
	for _, status := range []string{PowerStatusBrownOut, PowerStatusUninterruptiblePowerSupply} {
		_, _, _, err := Step(c, Status{State: StateOff, Since: t0, PowerStatus: status}, req(RequestOn), t0)
		var rej *RejectedError
		if !errors.As(err, &rej) || rej.Hint != "wait for input power to recover" || len(rej.Allowed) != 0 {
			t.Errorf("On with power status %s: %v", status, err)
		}
	}
	for _, status := range []string{PowerStatusGood, PowerStatusUndefined} {
		if _, _, _, err := Step(c, Status{State: StateOff, Since: t0, PowerStatus: status}, req(RequestOn), t0); err != nil {
			t.Errorf("On with power status %s: %v", status, err)
		}
	}
	if _, _, _, err := Step(c, Status{State: StateOn, Since: t0}, obs(ObservedPowerStatus).value("Sagging"), t0); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("unknown power status: %v", err)
	}
}

func TestBMCTransitions(t *testing.T) {
	cause := func(want string) func(*testing.T, Status, []Event) {
		return func(t *testing.T, st Status, _ []Event) { wantField(t, "last reboot cause", st.LastRebootCause, want) }
	}
	failed := func(t *testing.T, st Status, _ []Event) {
		if st.Failure == nil || st.Failure.What != "critical service" {
			t.Errorf("failure %+v", st.Failure)
		}
	}
	cases := []stepCase{
		{name: "services come up", state: StateNotReady, in: obs(ObservedServicesReady), want: StateReady},
		{name: "critical service fails at boot", state: StateNotReady, in: obs(ObservedCriticalServiceFailed), want: StateQuiesced,
			effects: []string{"alert(reason=critical service failed)"}, check: failed},
		{name: "GracefulRestart while NotReady", state: StateNotReady, in: resetReq(RequestGracefulRestart), want: StateRebooting, effects: []string{"reboot_bmc"}},
		{name: "ForceRestart while NotReady", state: StateNotReady, in: resetReq(RequestForceRestart), want: StateRebooting, effects: []string{"reboot_bmc(force=true)"}},
		{name: "never ready", state: StateNotReady, in: tick(), after: 10 * time.Minute, want: StateQuiesced,
			effects: []string{"alert(reason=BMC services not ready within 10m0s)"}},

		{name: "EnterMaintenance", state: StateReady, in: req(RequestEnterMaintenance), want: StateMaintenance},
		{name: "GracefulRestart from Ready", state: StateReady, in: resetReq(RequestGracefulRestart), want: StateRebooting, effects: []string{"reboot_bmc"}},
		{name: "ForceRestart from Ready", state: StateReady, in: resetReq(RequestForceRestart), want: StateRebooting, effects: []string{"reboot_bmc(force=true)"}},
		{name: "update starts", state: StateReady, in: obs(ObservedUpdateStarted), want: StateUpdateInProgress},
		{name: "critical service fails when Ready", state: StateReady, in: obs(ObservedCriticalServiceFailed), want: StateQuiesced,
			effects: []string{"alert(reason=critical service failed)"}, check: failed},

		{name: "ExitMaintenance", state: StateMaintenance, in: req(RequestExitMaintenance), want: StateReady},
		{name: "GracefulRestart from Maintenance", state: StateMaintenance, in: resetReq(RequestGracefulRestart), want: StateRebooting, effects: []string{"reboot_bmc"}},
		{name: "ForceRestart from Maintenance", state: StateMaintenance, in: resetReq(RequestForceRestart), want: StateRebooting, effects: []string{"reboot_bmc(force=true)"}},
		{name: "update starts in Maintenance", state: StateMaintenance, in: obs(ObservedUpdateStarted), want: StateUpdateInProgress},
		{name: "critical service fails in Maintenance", state: StateMaintenance, in: obs(ObservedCriticalServiceFailed), want: StateQuiesced,
			effects: []string{"alert(reason=critical service failed)"}},

		{name: "update finishes", state: StateUpdateInProgress, in: obs(ObservedUpdateFinished), want: StateReady},
		{name: "update fails", state: StateUpdateInProgress, in: obs(ObservedUpdateFailed), want: StateReady, effects: []string{"alert(reason=firmware update failed)"}},
		{name: "critical service fails during update", state: StateUpdateInProgress, in: obs(ObservedCriticalServiceFailed), want: StateQuiesced,
			effects: []string{"alert(reason=critical service failed during update)"}},
		{name: "ForceRestart during update", state: StateUpdateInProgress, in: resetReq(RequestForceRestart), want: StateRebooting, effects: []string{"reboot_bmc(force=true)"}},
		{name: "update hangs", state: StateUpdateInProgress, in: tick(), after: 2 * time.Hour, want: StateQuiesced,
			effects: []string{"alert(reason=firmware update did not finish within 1h0m0s)"}},

		{name: "GracefulRestart out of Quiesced", state: StateQuiesced, in: resetReq(RequestGracefulRestart), want: StateRebooting, effects: []string{"reboot_bmc"}},
		{name: "ForceRestart out of Quiesced", state: StateQuiesced, in: resetReq(RequestForceRestart), want: StateRebooting, effects: []string{"reboot_bmc(force=true)"}},
		{name: "reboot never happens", state: StateRebooting, in: tick(), after: 10 * time.Minute, want: StateQuiesced,
			effects: []string{"alert(reason=BMC did not reboot within 10m0s)"}},
	}
	for i, s := range BMC(DefaultBMCConfig()).States {
		causes := []string{RebootCausePOR, RebootCausePinholeReset, RebootCauseWatchdog, RebootCauseSoftware, RebootCauseUnknown}
		cases = append(cases, stepCase{name: "booted after " + s.Name, state: s.Name,
			setup: func(st *Status) { st.Failure = &Failure{What: "critical service"} },
			in:    obs(ObservedBooted).value(causes[i%len(causes)]), want: StateNotReady,
			check: func(t *testing.T, st Status, evs []Event) {
				cause(causes[i%len(causes)])(t, st, evs)
				if st.Failure != nil {
					t.Errorf("failure survived a reboot: %+v", st.Failure)
				}
			}})
	}
	cases = append(cases, stepCase{name: "booted without a known cause", state: StateRebooting, in: obs(ObservedBooted), want: StateNotReady, check: cause(RebootCauseUnknown)})
	runSteps(t, BMC(DefaultBMCConfig()), cases)
}

func TestBMCRejections(t *testing.T) {
	checkRejections(t, BMC(DefaultBMCConfig()))

	c := mustCompile(t, BMC(DefaultBMCConfig()))
	_, _, _, err := Step(c, Status{State: StateReady, Since: t0}, req(RequestGracefulRestart).with("bmc_reset_available", "firmware_update_in_progress"), t0)
	var rej *RejectedError
	if !errors.As(err, &rej) || !slices.Equal(rej.Allowed, []string{RequestEnterMaintenance, RequestForceRestart}) || rej.Capability != "" {
		t.Errorf("GracefulRestart during an update: %v", err)
	}
	// On a platform that cannot reset the BMC, a reset is refused in every
	// state, naming the capability, and is never allowed.
	for _, s := range BMC(DefaultBMCConfig()).States {
		for _, r := range []string{RequestGracefulRestart, RequestForceRestart} {
			st := Status{State: s.Name, Since: t0}
			if slices.Contains(Allowed(c, st, nil), r) {
				t.Errorf("%s allowed in %s without bmc_reset_available", r, s.Name)
			}
			_, _, _, err := Step(c, st, req(r), t0)
			if s.Name == StateRebooting || (s.Name == StateUpdateInProgress && r == RequestGracefulRestart) {
				continue // not accepted there at all
			}
			if !errors.As(err, &rej) || rej.Capability != "bmc_reset_available" {
				t.Errorf("%s in %s without bmc_reset_available: %v, want a rejection naming the capability", r, s.Name, err)
			}
		}
	}
	if _, _, _, err := Step(c, Status{State: StateRebooting, Since: t0}, obs(ObservedBooted).value("CosmicRay"), t0); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("unknown reboot cause: %v", err)
	}
}

func TestServiceTransitions(t *testing.T) {
	failure := func(what, cause string) func(*testing.T, Status, []Event) {
		return func(t *testing.T, st Status, _ []Event) {
			if st.Failure == nil || st.Failure.What != what || st.Failure.Cause != cause {
				t.Errorf("failure = %+v, want %s: %s", st.Failure, what, cause)
			}
		}
	}
	noFailure := func(t *testing.T, st Status, _ []Event) {
		if st.Failure != nil {
			t.Errorf("failure = %+v", st.Failure)
		}
	}
	broken := func(st *Status) { st.Failure = &Failure{What: "runtime", Cause: "segfault"} }
	because := func(in Input, cause string) Input { in.Cause = cause; return in }
	cfg := ServiceConfig{StartTimeout: time.Minute, StopTimeout: 30 * time.Second}
	cases := []stepCase{
		{name: "Start", state: StateStopped, setup: broken, in: req(RequestStart), want: StateStarting, effects: []string{"start_process"}, check: noFailure},
		{name: "initialized", state: StateStarting, in: obs(ObservedInitialized), want: StateRunning},
		{name: "initialization fails", state: StateStarting, in: because(obs(ObservedInitializationFailed), "config missing"), want: StateError,
			check: failure("initialization", "config missing")},
		{name: "exits while starting", state: StateStarting, in: because(obs(ObservedStopped), "exit status 1"), want: StateError,
			check: failure("initialization", "exit status 1")},
		{name: "Stop while starting", state: StateStarting, in: req(RequestStop), want: StateStopping, effects: []string{"stop_process"}},
		{name: "start times out", state: StateStarting, in: tick(), after: time.Minute, want: StateError,
			effects: []string{"stop_process(force=true)"}, check: failure("start", "timeout in Starting after 1m0s")},
		{name: "Stop", state: StateRunning, in: req(RequestStop), want: StateStopping, effects: []string{"stop_process"}},
		{name: "Restart", state: StateRunning, in: req(RequestRestart), want: StateRestarting, effects: []string{"stop_process"}},
		{name: "runtime error", state: StateRunning, in: because(obs(ObservedRuntimeError), "panic: nil map"), want: StateError,
			check: failure("runtime", "panic: nil map")},
		{name: "unexpected exit", state: StateRunning, in: obs(ObservedStopped), want: StateError, check: failure("runtime", "no cause reported")},
		{name: "stopped", state: StateStopping, in: obs(ObservedStopped), want: StateStopped},
		{name: "stop fails", state: StateStopping, in: because(obs(ObservedStopFailed), "EPERM"), want: StateError, check: failure("stop", "EPERM")},
		{name: "stop times out", state: StateStopping, in: tick(), after: time.Minute, want: StateError,
			effects: []string{"stop_process(force=true)"}, check: failure("stop", "timeout in Stopping after 30s")},
		{name: "restart: stopped, now starting", state: StateRestarting, in: obs(ObservedStopped), want: StateStarting, effects: []string{"start_process"}},
		{name: "restart: stop fails", state: StateRestarting, in: obs(ObservedStopFailed), want: StateError, check: failure("stop", "no cause reported")},
		{name: "restart: stop times out", state: StateRestarting, in: tick(), after: 31 * time.Second, want: StateError,
			effects: []string{"stop_process(force=true)"}},
		{name: "policy restart after initialization fails", state: StateStarting, in: because(obs(ObservedInitializationFailed), "exit code 3").with("restart_pending"),
			want: StateRestarting, check: failure("initialization", "exit code 3")},
		{name: "policy restart after exit while starting", state: StateStarting, in: obs(ObservedStopped).with("restart_pending"), want: StateRestarting},
		{name: "policy restart after runtime error", state: StateRunning, in: because(obs(ObservedRuntimeError), "exit code 2").with("restart_pending"),
			want: StateRestarting, check: failure("runtime", "exit code 2")},
		{name: "policy restart after exit", state: StateRunning, in: obs(ObservedStopped).with("restart_pending"), want: StateRestarting},
		{name: "policy restart: ready again", state: StateRestarting, setup: broken, in: obs(ObservedInitialized), want: StateRunning, check: noFailure},
		{name: "policy restart: fails again, will retry", state: StateRestarting, in: obs(ObservedInitializationFailed).with("restart_pending"), want: StateRestarting},
		{name: "policy restart: start limit reached", state: StateRestarting, in: because(obs(ObservedInitializationFailed), "thrashing"), want: StateError,
			check: failure("initialization", "thrashing")},
		{name: "Stop while restarting", state: StateRestarting, in: req(RequestStop), want: StateStopping, effects: []string{"stop_process"}},
		{name: "self-state report", state: StateRunning, in: because(obs(ObservedSelfState).value("ERROR"), "database unreachable; check db.0"), want: StateRunning,
			check: func(t *testing.T, st Status, _ []Event) {
				if st.Report == nil || st.Report.Code != CodeError || st.Report.Status != "database unreachable; check db.0" {
					t.Errorf("report = %+v", st.Report)
				}
			}},
		{name: "Reset", state: StateError, setup: broken, in: req(RequestReset), want: StateStopped, effects: []string{"stop_process(force=true)"}, check: noFailure},
	}
	unsupported := func(want Unsupported) func(*testing.T, Status, []Event) {
		return func(t *testing.T, st Status, _ []Event) {
			if st.Unsupported == nil || *st.Unsupported != want {
				t.Errorf("unsupported = %+v, want %+v", st.Unsupported, want)
			}
		}
	}
	for _, state := range []string{StateStopped, StateStarting, StateRunning, StateStopping, StateError, StateRestarting} {
		cases = append(cases, stepCase{name: "enable unanswered in " + state, state: state, in: obs(ObservedControlUnsupported).value("enable"),
			want: state, check: unsupported(Unsupported{Enable: true})})
	}
	runSteps(t, Service(cfg), cases)
}

func TestServiceRejections(t *testing.T) {
	checkRejections(t, Service(DefaultServiceConfig()))
	if ds := DefaultServiceConfig(); ds.StartTimeout != 0 || ds.StopTimeout != 0 {
		t.Errorf("default service config has timeouts: %+v", ds)
	}
	c := mustCompile(t, Service(DefaultServiceConfig()))
	if _, ok := NextDeadline(c, Status{State: StateStarting, Since: t0}); ok {
		t.Error("Starting has a deadline without a StartTimeout")
	}
}

func TestServiceCode(t *testing.T) {
	c := mustCompile(t, Service(DefaultServiceConfig()))
	at := t0.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		st       Status
		code     ServiceCode
		extended []string
	}{
		{"never started", Status{State: StateStopped, Since: t0}, CodeStopped, []string{"not started; request Start"}},
		{"stopped on request", Status{State: StateStopped, Since: at, Requested: &Request{Name: RequestStop, Requester: "operator:bob"}},
			CodeDisabled, []string{"stopped by request Stop from operator:bob at 2026-11-22T01:00:00Z"}},
		{"stopped after a reset", Status{State: StateStopped, Since: at, Requested: &Request{Name: RequestReset}},
			CodeStopped, []string{"stopped after Reset at 2026-11-22T01:00:00Z; request Start"}},
		{"stopping", Status{State: StateStopping, Since: at}, CodeDisabled, []string{"stopping since 2026-11-22T01:00:00Z"}},
		{"starting", Status{State: StateStarting, Since: at}, CodeEnabled, []string{"Starting since"}},
		{"running", Status{State: StateRunning, Since: at}, CodeEnabled, []string{"Running since 2026-11-22T01:00:00Z"}},
		{"restarting", Status{State: StateRestarting, Since: at}, CodeEnabled, []string{"Restarting since"}},
		{"running, reports ERROR", Status{State: StateRunning, Since: at, Report: &Report{Code: CodeError, Status: "disk full; free /var", Time: at.Add(time.Minute)}},
			CodeError, []string{"disk full; free /var (reported 2026-11-22T01:01:00Z)"}},
		{"running, reports DISABLED", Status{State: StateRunning, Since: at, Report: &Report{Code: CodeDisabled, Time: at}},
			CodeDisabled, []string{"reported by the service"}},
		{"running again after an old report", Status{State: StateRunning, Since: at, Report: &Report{Code: CodeError, Status: "old", Time: t0}},
			CodeEnabled, []string{"Running since"}},
		{"report does not hide a failed process", Status{State: StateError, Since: at, Failure: &Failure{What: "runtime", Cause: "exit code 1", Time: at},
			Report: &Report{Code: CodeEnabled, Time: at}}, CodeError, []string{"runtime failed"}},
		{"initialization failed", Status{State: StateError, Since: at, Failure: &Failure{What: "initialization", Cause: "exit status 3", Time: at}},
			CodeError, []string{"initialization failed: exit status 3 (since 2026-11-22T01:00:00Z)", "to resolve: fix what made initialization fail", "(allowed: Reset)"}},
		{"stop failed", Status{State: StateError, Since: at, Failure: &Failure{What: "stop", Cause: "EPERM", Time: at}},
			CodeError, []string{"stop failed: EPERM", "request Reset, which stops it by force"}},
		{"runtime error", Status{State: StateError, Since: at, Failure: &Failure{What: "runtime", Cause: "segfault", Time: at}},
			CodeError, []string{"runtime failed: segfault", "check the service log"}},
		{"start timed out", Status{State: StateError, Since: at, Failure: &Failure{What: "start", Cause: "timeout in Starting after 1m0s", Time: at}},
			CodeError, []string{"did not finish starting in time"}},
		{"extension failure", Status{State: StateError, Since: at, Failure: &Failure{What: "sync", Cause: "peer gone", Time: at}},
			CodeError, []string{"sync failed: peer gone", "fix the cause, then request Reset"}},
		{"error without a recorded failure", Status{State: StateError, Since: at, Cause: "observed runtime_error"},
			CodeError, []string{"in Error since 2026-11-22T01:00:00Z (observed runtime_error)", "allowed: Reset"}},
		{"unknown state", Status{State: "Zombie", Since: at}, CodeError, []string{`unknown state "Zombie"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, extended := Code(c, tc.st, nil)
			if code != tc.code {
				t.Errorf("code = %s, want %s", code, tc.code)
			}
			for _, want := range tc.extended {
				if !strings.Contains(extended, want) {
					t.Errorf("extended status %q lacks %q", extended, want)
				}
			}
		})
	}
}

func TestServiceScenario(t *testing.T) {
	c := mustCompile(t, Service(DefaultServiceConfig()))
	st := NewStatus(c, t0)
	failedInit := obs(ObservedInitializationFailed)
	failedInit.Cause = "missing /etc/sync.conf"
	var codes []ServiceCode
	for i, in := range []Input{req(RequestStart), failedInit, req(RequestReset), req(RequestStart), obs(ObservedInitialized), req(RequestRestart), obs(ObservedStopped), obs(ObservedInitialized), req(RequestStop), obs(ObservedStopped)} {
		var err error
		st, _, _, err = Step(c, st, in, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, in.Trigger, err)
		}
		code, _ := Code(c, st, nil)
		codes = append(codes, code)
	}
	want := []ServiceCode{CodeEnabled, CodeError, CodeStopped, CodeEnabled, CodeEnabled, CodeEnabled, CodeEnabled, CodeEnabled, CodeDisabled, CodeDisabled}
	if !slices.Equal(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
}
