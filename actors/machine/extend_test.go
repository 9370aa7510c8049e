package machine

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// syncing is a platform file's extension of a service that, once running,
// synchronises with a peer.
func syncing() Extension {
	return Extension{
		Machine: "service.sync",
		Source:  "platform.hcl:10,1",
		States: []State{
			{Name: "Syncing", Kind: Transitional, Timeout: time.Minute, TimeoutTo: StateError},
			{Name: "Synced", Kind: Stable, Source: "platform.hcl:14,3"},
		},
		Transitions: []Transition{
			{From: StateRunning, Trigger: "sync_started", To: "Syncing"},
			{From: "Syncing", Trigger: "sync_done", To: "Synced"},
			{From: "Syncing", Trigger: "sync_failed", To: StateError, Effects: []string{"record_failure(what=sync)"}},
			{From: "Syncing", Trigger: TriggerTimeout, To: StateError, Effects: []string{"record_failure(what=sync)", "alert(reason=sync did not finish)"}},
			{From: "Synced", Trigger: RequestStop, To: StateStopping, Effects: []string{"stop_process"}},
			{From: "Synced", Trigger: ObservedRuntimeError, To: StateError, Effects: []string{"record_failure(what=runtime)"}},
		},
	}
}

// connecting is a link-keeping service: Connecting → Connected →
// Reconnecting.
func connecting() Extension {
	return Extension{
		Machine: KindService,
		Source:  "link.hcl:1,1",
		States: []State{
			{Name: "Connecting", Kind: Transitional, Timeout: 30 * time.Second, TimeoutTo: StateError},
			{Name: "Connected", Kind: Stable},
			{Name: "Reconnecting", Kind: Transitional, Timeout: 2 * time.Minute, TimeoutTo: StateError},
		},
		Transitions: []Transition{
			{From: StateRunning, Trigger: "connect_started", To: "Connecting"},
			{From: "Connecting", Trigger: "connected", To: "Connected"},
			{From: "Connected", Trigger: "link_lost", To: "Reconnecting", Effects: []string{"alert(reason=link lost)"}},
			{From: "Reconnecting", Trigger: "connected", To: "Connected"},
			{From: "Connected", Trigger: RequestStop, To: StateStopping, Effects: []string{"stop_process"}},
			{From: "Connecting", Trigger: RequestStop, To: StateStopping, Effects: []string{"stop_process"}},
			{From: "Reconnecting", Trigger: RequestStop, To: StateStopping, Effects: []string{"stop_process"}},
		},
	}
}

func TestExtendSyncing(t *testing.T) {
	base := Service(DefaultServiceConfig())
	baseStates, baseTransitions := len(base.States), len(base.Transitions)
	m, err := Extend(base, syncing())
	if err != nil {
		t.Fatal(err)
	}
	if len(base.States) != baseStates || len(base.Transitions) != baseTransitions {
		t.Error("Extend modified its base")
	}
	i := slices.IndexFunc(m.States, func(s State) bool { return s.Name == "Syncing" })
	if m.States[i].Source != "platform.hcl:10,1" || m.States[i+1].Source != "platform.hcl:14,3" {
		t.Errorf("sources: %+v", m.States[i:])
	}

	c := mustCompile(t, m)
	st := Status{State: StateRunning, Since: t0}
	walk := []struct {
		in   Input
		want string
	}{
		{obs("sync_started"), "Syncing"},
		{obs("sync_done"), "Synced"},
		{req(RequestStop), StateStopping},
		{obs(ObservedStopped), StateStopped},
	}
	for _, w := range walk {
		var err error
		st, _, _, err = Step(c, st, w.in, t0)
		if err != nil || st.State != w.want {
			t.Fatalf("%s: %+v %v, want %s", w.in.Trigger, st, err, w.want)
		}
	}
	if code, _ := Code(c, Status{State: "Synced", Since: t0}, nil); code != CodeEnabled {
		t.Errorf("Synced code = %s", code)
	}

	st, evs, effs, err := Step(c, Status{State: "Syncing", Since: t0}, tick(), t0.Add(time.Minute))
	if err != nil || st.State != StateError || st.Failure.What != "sync" || len(evs) != 2 || effs[0].Name != "alert" {
		t.Fatalf("sync timeout: %+v %+v %+v %v", st, evs, effs, err)
	}
	if code, ext := Code(c, st, nil); code != CodeError || !strings.Contains(ext, "sync failed: timeout in Syncing after 1m0s") {
		t.Errorf("code %s %q", code, ext)
	}
}

func TestExtendConnecting(t *testing.T) {
	m, err := Extend(Service(DefaultServiceConfig()), connecting())
	if err != nil {
		t.Fatal(err)
	}
	c := mustCompile(t, m)
	st := Status{State: StateRunning, Since: t0}
	var path []string
	for i, in := range []Input{obs("connect_started"), obs("connected"), obs("link_lost"), obs("connected"), obs("link_lost")} {
		st, _, _, err = Step(c, st, in, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		path = append(path, st.State)
	}
	// The link stays down: Reconnecting times out into Error.
	st, _, _, err = Step(c, st, tick(), t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	path = append(path, st.State)
	want := []string{"Connecting", "Connected", "Reconnecting", "Connected", "Reconnecting", StateError}
	if !slices.Equal(path, want) {
		t.Errorf("path %v, want %v", path, want)
	}
	if got := Allowed(c, Status{State: "Connected"}, nil); !slices.Equal(got, []string{RequestStop}) {
		t.Errorf("Allowed(Connected) = %v", got)
	}
}

func TestExtendBoth(t *testing.T) {
	m, err := Extend(Service(DefaultServiceConfig()), syncing(), connecting())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.States) != 6+2+3 {
		t.Errorf("%d states", len(m.States))
	}
}

func TestExtendReportsConflicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ext    Extension
		source string
		want   string
	}{
		{"redefined state", Extension{Machine: KindService, Source: "p.hcl:3,1", States: []State{{Name: StateRunning, Kind: Stable}}},
			"p.hcl:3,1", "extension redefines state Running (defined at built-in)"},
		{"transition that competes with a built-in one", Extension{Machine: KindService, Source: "p.hcl:5,1",
			Transitions: []Transition{{From: StateStarting, Trigger: ObservedInitialized, To: StateError}}},
			"p.hcl:5,1", "transitions Starting --initialized--> Error (unguarded) and --> Running (unguarded) (at built-in) can both fire"},
		{"guarded transition over an unguarded one", Extension{Machine: KindService, Source: "p.hcl:6,1",
			Transitions: []Transition{{From: StateRunning, Trigger: ObservedRuntimeError, To: StateRestarting, Guards: []string{"auto_reboot"}, Source: "p.hcl:8,5"}}},
			"p.hcl:8,5", "can both fire"},
		{"wrong machine", Extension{Machine: "host.0", Source: "p.hcl:9,1"}, "p.hcl:9,1", `extension for "host.0" cannot extend a service machine`},
		{"kind prefix is not enough", Extension{Machine: "services", Source: "p.hcl:9,1"}, "p.hcl:9,1", `extension for "services" cannot extend a service machine`},
		{"unknown guard", Extension{Machine: KindService, Source: "p.hcl:11,1",
			Transitions: []Transition{{From: StateStopped, Trigger: "Warm", To: StateStarting, Guards: []string{"cache_warm"}}}},
			"p.hcl:11,1", `unknown guard "cache_warm"`},
		{"unreachable state", Extension{Machine: KindService, Source: "p.hcl:12,1",
			States: []State{{Name: "Orphan", Kind: Stable}}, Transitions: []Transition{{From: "Orphan", Trigger: RequestStart, To: StateStarting}}},
			"p.hcl:12,1", "state Orphan is not reachable"},
		{"target missing", Extension{Machine: KindService, Source: "p.hcl:13,1",
			Transitions: []Transition{{From: StateRunning, Trigger: "sync_started", To: "Syncing"}}},
			"p.hcl:13,1", "targets undeclared state Syncing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Extend(Service(DefaultServiceConfig()), tc.ext)
			var invalid *InvalidMachineError
			if m != nil || !errors.As(err, &invalid) || !errors.Is(err, ErrInvalidMachine) {
				t.Fatalf("Extend = %v, %v", m, err)
			}
			for _, p := range invalid.Problems {
				if strings.Contains(p.Message, tc.want) {
					if p.Source != tc.source {
						t.Errorf("source %q, want %q", p.Source, tc.source)
					}
					return
				}
			}
			t.Errorf("no problem contains %q: %v", tc.want, invalid.Problems)
		})
	}

	if _, err := Extend(nil, syncing()); !errors.Is(err, ErrInvalidMachine) {
		t.Errorf("Extend(nil) = %v", err)
	}
}
