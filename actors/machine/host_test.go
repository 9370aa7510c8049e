package machine

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	press         = "press_power_button(duration=200ms)"
	pressAfterOff = "press_power_button(delay=5s, duration=200ms)"
	hold          = "hold_power_button(duration=4s)"
	reset         = "pulse_reset(duration=500ms)"
)

func bootProgress(want string) func(*testing.T, Status, []Event) {
	return func(t *testing.T, st Status, _ []Event) { wantField(t, "boot progress", st.BootProgress, want) }
}

func TestHostTransitions(t *testing.T) {
	midBoot := func(st *Status) { st.BootProgress = BootProgressPCIInit }
	runSteps(t, Host(DefaultHostConfig()), []stepCase{
		{name: "On powers up", state: StateOff, setup: midBoot, in: req(RequestOn).with("chassis_on"), want: StateTransitioningToRunning,
			effects: []string{press}, check: bootProgress(BootProgressUnspecified)},
		{name: "ForceOn ignores interlocks", state: StateOff, in: req(RequestForceOn).with("firmware_update_in_progress", "chassis_on"),
			want: StateTransitioningToRunning, effects: []string{press}},
		{name: "PushPowerButton from Off", state: StateOff, in: req(RequestPushPowerButton).with("chassis_on"), want: StateTransitioningToRunning, effects: []string{press}},
		{name: "front-panel power on seen while Off", state: StateOff, in: obs(ObservedPowerGoodAsserted), want: StateRunning},

		{name: "power good completes power on", state: StateTransitioningToRunning, in: obs(ObservedPowerGoodAsserted), want: StateRunning},
		{name: "boot progress while powering on", state: StateTransitioningToRunning, in: obs(ObservedBootProgress).value(BootProgressMemoryInit),
			want: StateTransitioningToRunning, check: bootProgress(BootProgressMemoryInit)},
		{name: "ForceOff aborts power on", state: StateTransitioningToRunning, in: req(RequestForceOff), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "power good never comes", state: StateTransitioningToRunning, in: tick(), after: 13 * time.Second, want: StateError,
			effects: []string{"alert(reason=power good not asserted within 13s)"},
			check: func(t *testing.T, st Status, evs []Event) {
				wantField(t, "cause", st.Cause, "timeout in TransitioningToRunning after 13s")
				alert := evs[1]
				if !st.Since.Equal(t0.Add(13*time.Second)) || evs[0].Trigger != TriggerTimeout || alert.Type != EventAlert ||
					alert.Alert != AlertTransition || alert.State != StateError || alert.Message != "power good not asserted within 13s" {
					t.Errorf("status %+v events %+v", st, evs)
				}
			}},

		{name: "GracefulShutdown presses", state: StateRunning, in: req(RequestGracefulShutdown), want: StateTransitioningToOff, effects: []string{press}},
		{name: "PushPowerButton from Running", state: StateRunning, in: req(RequestPushPowerButton), want: StateTransitioningToOff, effects: []string{press}},
		{name: "ForceOff holds", state: StateRunning, in: req(RequestForceOff), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "GracefulRestart presses", state: StateRunning, in: req(RequestGracefulRestart), want: StateTransitioningToOff, effects: []string{press}},
		{name: "PowerCycle holds", state: StateRunning, in: req(RequestPowerCycle), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "ForceRestart pulses reset", state: StateRunning, setup: midBoot, in: req(RequestForceRestart), want: StateRunning,
			effects: []string{reset}, check: bootProgress(BootProgressUnspecified)},
		{name: "Nmi enters diagnostic mode", state: StateRunning, in: req(RequestNmi), want: StateDiagnosticMode, effects: []string{"nmi"}},
		{name: "power good lost while Running", state: StateRunning, in: obs(ObservedPowerGoodDeasserted), want: StateOff,
			effects: []string{"alert(reason=power good lost while Running)"}},
		{name: "OS shuts down", state: StateRunning, in: obs(ObservedOSShutdown), want: StateTransitioningToOff},
		{name: "chassis power lost during power on", state: StateTransitioningToRunning, in: obs(ObservedChassisPowerLost), want: StateOff,
			effects: []string{"alert(reason=chassis power lost during power on)"}},
		{name: "chassis power lost while Running", state: StateRunning, setup: midBoot, in: obs(ObservedChassisPowerLost), want: StateOff,
			effects: []string{"alert(reason=chassis power lost while Running)"}, check: bootProgress(BootProgressUnspecified)},
		{name: "chassis power lost while powering off", state: StateTransitioningToOff, in: obs(ObservedChassisPowerLost), want: StateOff},
		{name: "chassis power lost while Quiesced", state: StateQuiesced, in: obs(ObservedChassisPowerLost), want: StateOff},
		{name: "chassis power lost in DiagnosticMode", state: StateDiagnosticMode, in: obs(ObservedChassisPowerLost), want: StateOff},
		{name: "chassis power lost in Error", state: StateError, in: obs(ObservedChassisPowerLost), want: StateOff},
		{name: "POST complete", state: StateRunning, in: obs(ObservedPostComplete), want: StateRunning, check: bootProgress(BootProgressOSStart)},
		{name: "boot progress while Running", state: StateRunning, in: obs(ObservedBootProgress).value(BootProgressOSRunning),
			want: StateRunning, check: bootProgress(BootProgressOSRunning)},
		{name: "watchdog with auto reboot", state: StateRunning, in: obs(ObservedWatchdogExpired).with("auto_reboot"), want: StateRunning, effects: []string{reset}},
		{name: "watchdog without auto reboot", state: StateRunning, in: obs(ObservedWatchdogExpired), want: StateQuiesced,
			effects: []string{"alert(reason=host watchdog expired)"}},
		{name: "crash with auto reboot", state: StateRunning, in: obs(ObservedHostCrash).with("auto_reboot"), want: StateRunning, effects: []string{reset}},
		{name: "crash without auto reboot", state: StateRunning, in: obs(ObservedHostCrash), want: StateQuiesced, effects: []string{"alert(reason=host crashed)"}},

		{name: "shutdown completes", state: StateTransitioningToOff, setup: requested(RequestGracefulShutdown), in: obs(ObservedPowerGoodDeasserted), want: StateOff},
		{name: "restart powers back on after the off time", state: StateTransitioningToOff, setup: requested(RequestGracefulRestart),
			in: obs(ObservedPowerGoodDeasserted), want: StateTransitioningToRunning, effects: []string{pressAfterOff}},
		{name: "ForceOff escalates a slow shutdown", state: StateTransitioningToOff, in: req(RequestForceOff), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "graceful shutdown times out into Error, not Running", state: StateTransitioningToOff, in: tick(), after: 300 * time.Second, want: StateError,
			effects: []string{hold, "alert(reason=host did not power off within 5m0s; power button override issued)"}},

		{name: "ForceOff from Quiesced", state: StateQuiesced, in: req(RequestForceOff), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "PowerCycle from Quiesced", state: StateQuiesced, in: req(RequestPowerCycle), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "ForceRestart from Quiesced", state: StateQuiesced, in: req(RequestForceRestart), want: StateRunning, effects: []string{reset}},
		{name: "Nmi from Quiesced", state: StateQuiesced, in: req(RequestNmi), want: StateDiagnosticMode, effects: []string{"nmi"}},
		{name: "Quiesced host loses power", state: StateQuiesced, in: obs(ObservedPowerGoodDeasserted), want: StateOff},

		{name: "ForceOff from DiagnosticMode", state: StateDiagnosticMode, in: req(RequestForceOff), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "PowerCycle from DiagnosticMode", state: StateDiagnosticMode, in: req(RequestPowerCycle), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "ForceRestart from DiagnosticMode", state: StateDiagnosticMode, in: req(RequestForceRestart), want: StateRunning, effects: []string{reset}},
		{name: "DiagnosticMode host loses power", state: StateDiagnosticMode, in: obs(ObservedPowerGoodDeasserted), want: StateOff},
		{name: "crash in DiagnosticMode", state: StateDiagnosticMode, in: obs(ObservedHostCrash), want: StateQuiesced,
			effects: []string{"alert(reason=host crashed in DiagnosticMode)"}},

		{name: "ForceOff from Error", state: StateError, in: req(RequestForceOff), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "PowerCycle from Error", state: StateError, in: req(RequestPowerCycle), want: StateTransitioningToOff, effects: []string{hold}},
		{name: "override worked", state: StateError, in: obs(ObservedPowerGoodDeasserted), want: StateOff},
		{name: "late power good", state: StateError, in: obs(ObservedPowerGoodAsserted), want: StateRunning},
	})
}

func TestHostRejections(t *testing.T) {
	checkRejections(t, Host(DefaultHostConfig()))

	c := mustCompile(t, Host(DefaultHostConfig()))
	running := Status{State: StateRunning, Since: t0}
	off := Status{State: StateOff, Since: t0}
	for _, tc := range []struct {
		name         string
		st           Status
		in           Input
		is           error
		allowed      []string
		reason, hint string
	}{
		{name: "On while Running", st: running, in: req(RequestOn), is: ErrRejected,
			allowed: []string{"ForceOff", "ForceRestart", "GracefulRestart", "GracefulShutdown", "Nmi", "PowerCycle", "PushPowerButton"},
			reason:  "no On transition leaves Running", hint: "On is accepted in Off"},
		{name: "On during a firmware update", st: off, in: req(RequestOn).with("firmware_update_in_progress", "chassis_on"), is: ErrRejected,
			allowed: []string{"ForceOn", "PushPowerButton"},
			reason:  "guard !firmware_update_in_progress does not hold: a firmware update is in progress", hint: "wait for the update to finish"},
		{name: "On without chassis power", st: off, in: req(RequestOn), is: ErrRejected,
			reason: "guard chassis_on does not hold: the chassis is not On", hint: "power the chassis on first"},
		{name: "PowerCycle from Off", st: off, in: req(RequestPowerCycle).with("chassis_on"), is: ErrRejected,
			allowed: []string{"ForceOn", "On", "PushPowerButton"}, hint: "PowerCycle is accepted in Running, Quiesced, DiagnosticMode, Error"},
		{name: "On while powering off", st: Status{State: StateTransitioningToOff, Since: t0}, in: req(RequestOn), is: ErrRejected,
			allowed: []string{"ForceOff"}, hint: "TransitioningToOff is transitional: wait for it to finish (it times out after 5m0s)"},
		{name: "a ResetType the host lacks", st: off, in: req("Suspend").with("chassis_on"), is: ErrUnknownRequest,
			allowed: []string{"ForceOn", "On", "PushPowerButton"}, reason: "the host machine has no Suspend request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := Step(c, tc.st, tc.in, t0)
			var rej *RejectedError
			if !errors.As(err, &rej) || !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if !slices.Equal(rej.Allowed, tc.allowed) {
				t.Errorf("allowed = %v, want %v", rej.Allowed, tc.allowed)
			}
			if tc.reason != "" && rej.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", rej.Reason, tc.reason)
			}
			if !strings.Contains(rej.Hint, tc.hint) {
				t.Errorf("hint = %q, want it to contain %q", rej.Hint, tc.hint)
			}
			if !strings.HasPrefix(err.Error(), "host: request "+tc.in.Trigger+" rejected in state "+tc.st.State+": ") {
				t.Errorf("message = %q", err)
			}
		})
	}
}

func TestStepInvalidInputs(t *testing.T) {
	c := mustCompile(t, Host(DefaultHostConfig()))
	running := Status{State: StateRunning, Since: t0, BootProgress: BootProgressOSStart}
	for _, tc := range []struct {
		name string
		st   Status
		in   Input
		is   error
	}{
		{"client claims an observation", running, req(ObservedPowerGoodDeasserted), ErrInvalidInput},
		{"observation spelled like a request", running, obs("PowerGood"), ErrInvalidInput},
		{"observation named timeout", running, obs(TriggerTimeout), ErrInvalidInput},
		{"empty request", running, req(""), ErrInvalidInput},
		{"unknown input kind", running, Input{Kind: "rumour", Trigger: "On"}, ErrInvalidInput},
		{"boot stage outside PDI", running, obs(ObservedBootProgress).value("Warp"), ErrInvalidInput},
		{"state from an older definition", Status{State: "Hibernating", Since: t0}, req(RequestOn), ErrUnknownState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, evs, effs, err := Step(c, tc.st, tc.in, t0.Add(time.Second))
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if got != tc.st || evs != nil || effs != nil {
				t.Errorf("invalid input changed something: %+v %+v %+v", got, evs, effs)
			}
		})
	}
}

func TestHostScenarios(t *testing.T) {
	c := mustCompile(t, Host(DefaultHostConfig()))

	// run feeds inputs at the given offsets and returns every event.
	run := func(t *testing.T, st Status, steps ...any) (Status, []Event, []Effect) {
		t.Helper()
		var all []Event
		var allEffs []Effect
		now := st.Since
		for i := 0; i < len(steps); i += 2 {
			now = now.Add(steps[i].(time.Duration))
			var evs []Event
			var effs []Effect
			var err error
			st, evs, effs, err = Step(c, st, steps[i+1].(Input), now)
			if err != nil {
				t.Fatalf("step %d: %v", i/2, err)
			}
			all = append(all, evs...)
			allEffs = append(allEffs, effs...)
		}
		return st, all, allEffs
	}
	path := func(evs []Event) []string {
		var p []string
		for _, e := range evs {
			if e.Type == EventTransition && e.From != e.To {
				p = append(p, e.To)
			}
		}
		return p
	}

	t.Run("graceful restart comes back on", func(t *testing.T) {
		st, evs, _ := run(t, NewStatus(c, t0),
			time.Duration(0), req(RequestOn).with("chassis_on"),
			time.Second, obs(ObservedPowerGoodAsserted),
			time.Minute, req(RequestGracefulRestart),
			30*time.Second, obs(ObservedPowerGoodDeasserted),
			6*time.Second, obs(ObservedPowerGoodAsserted))
		want := []string{StateTransitioningToRunning, StateRunning, StateTransitioningToOff, StateTransitioningToRunning, StateRunning}
		if !slices.Equal(path(evs), want) || st.Transitions != 5 || st.Requested.Name != RequestGracefulRestart {
			t.Errorf("path %v, status %+v", path(evs), st)
		}
	})

	t.Run("an old restart request does not turn an OS shutdown into a power on", func(t *testing.T) {
		st, evs, _ := run(t, Status{State: StateRunning, Since: t0.Add(time.Hour), Requested: &Request{Name: RequestGracefulRestart, Time: t0}},
			time.Minute, obs(ObservedOSShutdown),
			10*time.Second, obs(ObservedPowerGoodDeasserted))
		if st.State != StateOff || !slices.Equal(path(evs), []string{StateTransitioningToOff, StateOff}) {
			t.Errorf("path %v, status %+v", path(evs), st)
		}
	})

	t.Run("ForceOff during a restart cancels it", func(t *testing.T) {
		st, _, _ := run(t, Status{State: StateRunning, Since: t0},
			time.Second, req(RequestGracefulRestart),
			time.Minute, req(RequestForceOff),
			5*time.Second, obs(ObservedPowerGoodDeasserted))
		if st.State != StateOff {
			t.Errorf("status %+v", st)
		}
	})

	t.Run("graceful timeout escalates with the request's operation", func(t *testing.T) {
		in := req(RequestGracefulShutdown)
		in.Operation, in.Requester = "op-42", "operator:alice"
		st, evs, effs := run(t, Status{State: StateRunning, Since: t0},
			time.Duration(0), in,
			299*time.Second, tick(),
			time.Hour, tick(), // much later: no further timeout from Error
			time.Second, obs(ObservedPowerGoodDeasserted))
		if !slices.Equal(path(evs), []string{StateTransitioningToOff, StateError, StateOff}) {
			t.Fatalf("path %v", path(evs))
		}
		timeout := evs[1]
		if timeout.Trigger != TriggerTimeout || timeout.Operation != "op-42" || timeout.Requester != "operator:alice" || !timeout.Time.Equal(t0.Add(300*time.Second)) {
			t.Errorf("timeout event %+v", timeout)
		}
		if effs[1].Name != "hold_power_button" || effs[1].Operation != "op-42" {
			t.Errorf("escalation effect %+v", effs[1])
		}
		if st.State != StateOff || st.Requested.Operation != "op-42" {
			t.Errorf("status %+v", st)
		}
	})

	t.Run("a due timeout fires before the input that arrives late", func(t *testing.T) {
		st, evs, _ := run(t, Status{State: StateTransitioningToRunning, Since: t0},
			20*time.Second, obs(ObservedPowerGoodAsserted))
		if st.State != StateRunning || !slices.Equal(path(evs), []string{StateError, StateRunning}) {
			t.Errorf("path %v status %+v", path(evs), st)
		}
		if !evs[0].Time.Equal(t0.Add(13*time.Second)) || !evs[2].Time.Equal(t0.Add(20*time.Second)) {
			t.Errorf("event times %v, %v", evs[0].Time, evs[2].Time)
		}
	})

	t.Run("a rejected request still returns the timeout that came due", func(t *testing.T) {
		st := Status{State: StateTransitioningToRunning, Since: t0}
		got, evs, effs, err := Step(c, st, req(RequestNmi), t0.Add(time.Minute))
		var rej *RejectedError
		if !errors.As(err, &rej) || rej.State != StateError {
			t.Fatalf("err = %v", err)
		}
		if got.State != StateError || len(evs) != 2 || len(effs) != 1 {
			t.Errorf("status %+v events %+v effects %+v", got, evs, effs)
		}
	})

	t.Run("self-loops keep Since and the transition count", func(t *testing.T) {
		st := Status{State: StateRunning, Since: t0, Transitions: 7}
		got, _, _ := run(t, st, time.Minute, obs(ObservedPostComplete))
		if !got.Since.Equal(t0) || got.Transitions != 7 || got.Cause != "observed post_complete" {
			t.Errorf("status %+v", got)
		}
	})

	t.Run("ignored observation is reported, not refused", func(t *testing.T) {
		st := Status{State: StateOff, Since: t0}
		in := obs(ObservedPowerGoodDeasserted)
		in.Cause = "gpio PS_PWROK falling edge"
		got, evs, effs, err := Step(c, st, in, t0.Add(time.Second))
		if err != nil || got != st || effs != nil || len(evs) != 1 {
			t.Fatalf("%+v %+v %+v %v", got, evs, effs, err)
		}
		e := evs[0]
		if e.Type != EventIgnored || e.State != StateOff || e.Trigger != in.Trigger || e.Cause != in.Cause || e.Message != "no power_good_deasserted transition leaves Off" {
			t.Errorf("event %+v", e)
		}
	})

	t.Run("a tick with nothing due does nothing", func(t *testing.T) {
		st := Status{State: StateTransitioningToOff, Since: t0}
		got, evs, effs, err := Step(c, st, tick(), t0.Add(299*time.Second))
		if err != nil || got != st || evs != nil || effs != nil {
			t.Errorf("%+v %+v %+v %v", got, evs, effs, err)
		}
	})
}

func TestRequestIsRecorded(t *testing.T) {
	c := mustCompile(t, Host(DefaultHostConfig()))
	in := Input{Kind: KindRequest, Trigger: RequestOn, Operation: "op-1", Requester: "redfish:root", Cause: "operator pressed the web button",
		Facts: Facts{"chassis_on": true}}
	st, evs, effs, err := Step(c, NewStatus(c, t0), in, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	wantReq := &Request{Name: RequestOn, Operation: "op-1", Requester: "redfish:root", Time: t0.Add(time.Second)}
	if !reflect.DeepEqual(st.Requested, wantReq) || st.Cause != in.Cause || st.Transitions != 1 {
		t.Errorf("status %+v", st)
	}
	wantEv := Event{Type: EventTransition, Machine: KindHost, From: StateOff, To: StateTransitioningToRunning, Trigger: RequestOn,
		Input: KindRequest, Cause: in.Cause, Requester: "redfish:root", Operation: "op-1", Time: t0.Add(time.Second)}
	if len(evs) != 1 || evs[0] != wantEv {
		t.Errorf("events %+v", evs)
	}
	if len(effs) != 1 || effs[0].Operation != "op-1" {
		t.Errorf("effects %+v", effs)
	}
	// The shell may change an effect's parameters without changing the machine.
	effs[0].Params["duration"] = "1h"
	_, _, again, _ := Step(c, NewStatus(c, t0), in, t0)
	if again[0].Params["duration"] != "200ms" {
		t.Errorf("effect parameters are shared with the machine: %v", again[0].Params)
	}
}

func TestAllowedAndDeadlines(t *testing.T) {
	c := mustCompile(t, Host(DefaultHostConfig()))
	for _, tc := range []struct {
		st    Status
		facts Facts
		want  []string
	}{
		{Status{State: StateOff}, nil, nil}, // no chassis power: nothing powers the host on
		{Status{State: StateOff}, Facts{"chassis_on": true}, []string{"ForceOn", "On", "PushPowerButton"}},
		{Status{State: StateOff}, Facts{"chassis_on": true, "firmware_update_in_progress": true}, []string{"ForceOn", "PushPowerButton"}},
		{Status{State: StateTransitioningToRunning}, nil, []string{"ForceOff"}},
		{Status{State: StateTransitioningToOff}, nil, []string{"ForceOff"}},
		{Status{State: StateError}, nil, []string{"ForceOff", "PowerCycle"}},
		{Status{State: "Hibernating"}, nil, nil},
	} {
		if got := Allowed(c, tc.st, tc.facts); !slices.Equal(got, tc.want) {
			t.Errorf("Allowed(%s, %v) = %v, want %v", tc.st.State, tc.facts, got, tc.want)
		}
	}

	if d, ok := NextDeadline(c, Status{State: StateTransitioningToRunning, Since: t0}); !ok || !d.Equal(t0.Add(13*time.Second)) {
		t.Errorf("NextDeadline(TransitioningToRunning) = %v, %v", d, ok)
	}
	if _, ok := NextDeadline(c, Status{State: StateRunning, Since: t0}); ok {
		t.Error("Running has a deadline")
	}
	if _, ok := NextDeadline(c, Status{State: "Hibernating", Since: t0}); ok {
		t.Error("an unknown state has a deadline")
	}
}

func TestHostConfigIsApplied(t *testing.T) {
	cfg := DefaultHostConfig()
	cfg.GracefulShutdownTimeout = 30 * time.Second
	cfg.ForceOffHold = 15 * time.Second // x86-power-control's ForceOffPulseMs
	c := mustCompile(t, Host(cfg))
	st, _, effs, err := Step(c, Status{State: StateTransitioningToOff, Since: t0}, tick(), t0.Add(30*time.Second))
	if err != nil || st.State != StateError {
		t.Fatalf("%+v %v", st, err)
	}
	if got := render(effs); got[0] != "hold_power_button(duration=15s)" {
		t.Errorf("effects %q", got)
	}
}

func TestStatusAndEventsRoundTripJSON(t *testing.T) {
	c := mustCompile(t, Service(DefaultServiceConfig()))
	st := Status{State: StateStarting, Since: t0, Requested: &Request{Name: RequestStart, Operation: "op", Time: t0}, Transitions: 3}
	in := obs(ObservedInitializationFailed)
	in.Cause = "exit status 3"
	st, evs, _, err := Step(c, st, in, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	alerts := CheckAlerts(c, st, nil, t0.Add(time.Hour), DefaultThresholds())
	for _, v := range []any{st, append(evs, alerts...)} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v))
		if err := json.Unmarshal(data, back.Interface()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Elem().Interface(), v) {
			t.Errorf("round trip of %s changed it:\n%+v\n%+v", data, back.Elem().Interface(), v)
		}
	}
}
