package machine

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckAlerts(t *testing.T) {
	svc := mustCompile(t, Service(DefaultServiceConfig()))
	host := mustCompile(t, Host(DefaultHostConfig()))
	th := DefaultThresholds()
	every := func(n int, gap time.Duration, end time.Time) []time.Time {
		var ts []time.Time
		for i := range n {
			ts = append(ts, end.Add(-time.Duration(i)*gap))
		}
		return ts
	}
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		c       *Compiled
		st      Status
		history []time.Time
		th      Thresholds
		want    []AlertKind
		message string
	}{
		{"error for 4m59s", svc, Status{State: StateError, Since: now.Add(-4*time.Minute - 59*time.Second)}, nil, th, nil, ""},
		{"error for 5m", svc, Status{State: StateError, Since: now.Add(-5 * time.Minute), Cause: "observed runtime_error"}, nil, th,
			[]AlertKind{AlertStuckInError}, "service has been in error state Error for 5m0s (limit 5m0s): observed runtime_error"},
		{"host error too", host, Status{State: StateError, Since: now.Add(-time.Hour)}, nil, th, []AlertKind{AlertStuckInError}, ""},
		{"starting for 10m", svc, Status{State: StateStarting, Since: now.Add(-10 * time.Minute)}, nil, th,
			[]AlertKind{AlertSlowState}, "service has been in Starting for 10m0s (limit 10m0s)"},
		{"starting for 9m", svc, Status{State: StateStarting, Since: now.Add(-9 * time.Minute)}, nil, th, nil, ""},
		{"stopping for 2m", svc, Status{State: StateStopping, Since: now.Add(-2 * time.Minute)}, nil, th, []AlertKind{AlertSlowState}, ""},
		{"running for days", svc, Status{State: StateRunning, Since: now.Add(-72 * time.Hour)}, nil, th, nil, ""},
		{"10 changes in the window", svc, Status{State: StateRunning, Since: now}, every(10, 30*time.Second, now), th, nil, ""},
		{"11 changes in the window", svc, Status{State: StateRunning, Since: now}, every(11, 30*time.Second, now), th,
			[]AlertKind{AlertThrashing}, "service changed state 11 times within 10m0s (limit 10)"},
		{"11 changes, some too old", svc, Status{State: StateRunning, Since: now}, every(11, time.Minute, now), th, nil, ""},
		{"changes after now are not counted", svc, Status{State: StateRunning, Since: now}, every(11, time.Second, now.Add(time.Minute)), th, nil, ""},
		{"everything at once", svc, Status{State: StateError, Since: now.Add(-time.Hour)}, every(20, time.Second, now),
			Thresholds{Error: time.Minute, States: map[string]time.Duration{StateError: 30 * time.Minute}, ThrashTransitions: 3, ThrashWindow: time.Minute},
			[]AlertKind{AlertStuckInError, AlertSlowState, AlertThrashing}, ""},
		{"zero thresholds disable checks", svc, Status{State: StateError, Since: now.Add(-time.Hour)}, every(20, time.Second, now), Thresholds{}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alerts := CheckAlerts(tc.c, tc.st, tc.history, now, tc.th)
			var kinds []AlertKind
			for _, a := range alerts {
				kinds = append(kinds, a.Alert)
				if a.Type != EventAlert || a.Key == "" || !a.Time.Equal(now) || a.State != tc.st.State || a.Machine != tc.c.Kind() {
					t.Errorf("alert %+v", a)
				}
				if got := AlertKindOf(a.Key); got != a.Alert {
					t.Errorf("AlertKindOf(%q) = %q, want %q", a.Key, got, a.Alert)
				}
			}
			if !slices.Equal(kinds, tc.want) {
				t.Fatalf("alerts %v, want %v", kinds, tc.want)
			}
			if tc.message != "" && alerts[0].Message != tc.message {
				t.Errorf("message %q, want %q", alerts[0].Message, tc.message)
			}
		})
	}
}

func TestAlertKeysAreStable(t *testing.T) {
	if got := AlertKindOf(""); got != AlertTransition {
		t.Errorf("the kind of a keyless alert is %q, want %q", got, AlertTransition)
	}
	c := mustCompile(t, Service(DefaultServiceConfig()))
	th := DefaultThresholds()
	st := Status{State: StateError, Since: t0}
	first := CheckAlerts(c, st, nil, t0.Add(6*time.Minute), th)
	later := CheckAlerts(c, st, nil, t0.Add(time.Hour), th)
	if len(first) != 1 || len(later) != 1 || first[0].Key != later[0].Key {
		t.Errorf("one standing condition has keys %v and %v", first, later)
	}
	again := CheckAlerts(c, Status{State: StateError, Since: t0.Add(2 * time.Hour)}, nil, t0.Add(3*time.Hour), th)
	if again[0].Key == first[0].Key || !strings.HasPrefix(again[0].Key, "stuck_in_error:Error:") {
		t.Errorf("a new stay in Error reuses key %q", again[0].Key)
	}

	// Thrashing is reported once per window.
	var history []time.Time
	for i := range 30 {
		history = append(history, t0.Add(time.Duration(i)*10*time.Second))
	}
	running := Status{State: StateRunning, Since: t0}
	k1 := CheckAlerts(c, running, history, t0.Add(4*time.Minute), th)[0].Key
	k2 := CheckAlerts(c, running, history, t0.Add(4*time.Minute+50*time.Second), th)[0].Key
	if k1 != k2 {
		t.Errorf("thrashing keys differ within one window: %s, %s", k1, k2)
	}
}

func TestNextAlertCheck(t *testing.T) {
	c := mustCompile(t, Service(DefaultServiceConfig()))
	th := DefaultThresholds()
	th.States[StateError] = 2 * time.Minute
	for _, tc := range []struct {
		name string
		st   Status
		now  time.Time
		want time.Duration // after t0; 0 for none
	}{
		{"starting", Status{State: StateStarting, Since: t0}, t0.Add(time.Minute), 10 * time.Minute},
		{"starting, already late", Status{State: StateStarting, Since: t0}, t0.Add(11 * time.Minute), 0},
		{"error, the earlier limit first", Status{State: StateError, Since: t0}, t0, 2 * time.Minute},
		{"error, then the next", Status{State: StateError, Since: t0}, t0.Add(3 * time.Minute), 5 * time.Minute},
		{"running", Status{State: StateRunning, Since: t0}, t0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, ok := NextAlertCheck(c, tc.st, tc.now, th)
			if ok != (tc.want != 0) || ok && !at.Equal(t0.Add(tc.want)) {
				t.Errorf("NextAlertCheck = %v, %v; want t0+%s", at, ok, tc.want)
			}
		})
	}
}
