package machine

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuiltinsAreValid(t *testing.T) {
	for _, m := range []*Machine{
		Host(DefaultHostConfig()), Chassis(DefaultChassisConfig()), BMC(DefaultBMCConfig()),
		Service(DefaultServiceConfig()), Service(ServiceConfig{StartTimeout: time.Minute, StopTimeout: time.Minute}),
	} {
		for _, p := range Validate(m) {
			t.Errorf("%s", p)
		}
	}
}

// tiny is a valid machine that the cases below break one way each.
func tiny() *Machine {
	return &Machine{
		Kind:    "tiny",
		Initial: "Idle",
		States: []State{
			{Name: "Idle", Kind: Stable},
			{Name: "Busy", Kind: Transitional, Timeout: time.Second, TimeoutTo: "Broken"},
			{Name: "Broken", Kind: ErrorKind},
		},
		Transitions: []Transition{
			{From: "Idle", Trigger: "Go", To: "Busy", Effects: []string{"start_process"}},
			{From: "Busy", Trigger: "done", To: "Idle"},
			{From: "Broken", Trigger: "Reset", To: "Idle"},
		},
	}
}

// badSource is where the broken parts of tiny come from.
const badSource = "tiny.hcl:7,3"

// withTransition adds a transition defined at badSource.
func withTransition(t Transition) func(*Machine) {
	return func(m *Machine) {
		t.Source = badSource
		m.Transitions = append(m.Transitions, t)
	}
}

// withState adds a state defined at badSource.
func withState(s State) func(*Machine) {
	return func(m *Machine) {
		s.Source = badSource
		m.States = append(m.States, s)
	}
}

func TestValidateFindsEachProblem(t *testing.T) {
	if ps := Validate(tiny()); len(ps) != 0 {
		t.Fatalf("tiny is not valid: %v", ps)
	}
	for _, tc := range []struct {
		name   string
		breaks func(*Machine)
		source string
		want   string
	}{
		{"no kind", func(m *Machine) { m.Kind = "" }, "", "machine has no kind"},
		{"no initial", func(m *Machine) { m.Initial = "" }, "", "machine has no initial state"},
		{"undeclared initial", func(m *Machine) { m.Initial = "Nowhere" }, "", "initial state Nowhere is not declared"},
		{"unnamed state", withState(State{Kind: Stable}), badSource, "state 3 has no name"},
		{"duplicate state", withState(State{Name: "Idle", Kind: Stable}), badSource, "state Idle is defined twice (first at built-in)"},
		{"unknown kind", func(m *Machine) { m.States[0].Kind = "wobbly"; m.States[0].Source = badSource }, badSource, `state Idle has unknown kind "wobbly"`},
		{"negative timeout", func(m *Machine) { m.States[1].Timeout = -time.Second; m.States[1].Source = badSource }, badSource, "state Busy has a negative timeout -1s"},
		{"timeout without target", func(m *Machine) { m.States[1].TimeoutTo = ""; m.States[1].Source = badSource }, badSource, "state Busy has a timeout but no TimeoutTo"},
		{"target without timeout", func(m *Machine) { m.States[0].TimeoutTo = "Busy"; m.States[0].Source = badSource }, badSource, "state Idle has TimeoutTo Busy but no timeout"},
		{"times out into itself", func(m *Machine) { m.States[1].TimeoutTo = "Busy"; m.States[1].Source = badSource }, badSource, "state Busy times out into itself"},
		{"times out into nowhere", func(m *Machine) { m.States[1].TimeoutTo = "Limbo"; m.States[1].Source = badSource }, badSource, "state Busy times out into undeclared state Limbo"},
		{"from undeclared", withTransition(Transition{From: "Limbo", Trigger: "Go", To: "Idle"}), badSource, "starts at undeclared state Limbo"},
		{"to undeclared", withTransition(Transition{From: "Idle", Trigger: "Jump", To: "Limbo"}), badSource, "targets undeclared state Limbo"},
		{"trigger spelling", withTransition(Transition{From: "Idle", Trigger: "go-now", To: "Busy"}), badSource, `trigger "go-now" is neither a request (PascalCase) nor an observation (snake_case)`},
		{"timeout from a state without one", withTransition(Transition{From: "Idle", Trigger: TriggerTimeout, To: "Busy"}), badSource, "timeout transition from Idle, which has no timeout"},
		{"timeout to the wrong state", withTransition(Transition{From: "Busy", Trigger: TriggerTimeout, To: "Idle"}), badSource, "timeout transition from Busy goes to Idle but the state times out into Broken"},
		{"guarded timeout", withTransition(Transition{From: "Busy", Trigger: TriggerTimeout, To: "Broken", Guards: []string{"auto_reboot"}}), badSource, "timeout transition from Busy has guards"},
		{"unknown guard", withTransition(Transition{From: "Idle", Trigger: "Go", To: "Busy", Guards: []string{"!moon_full"}}), badSource, `unknown guard "moon_full"`},
		{"guard twice", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Guards: []string{"bmc_ready", "bmc_ready"}}), badSource, "lists guard bmc_ready twice"},
		{"contradictory guards", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Guards: []string{"bmc_ready", "!bmc_ready"}}), badSource, "requires both bmc_ready and its negation"},
		{"unknown effect", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"launch_missiles"}}), badSource, `unknown effect "launch_missiles"`},
		{"unknown parameter", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"nmi(count=2)"}}), badSource, `effect nmi has no parameter "count"`},
		{"bad duration", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"hold_power_button(duration=long)"}}), badSource, `"long" is not a duration`},
		{"negative duration", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"hold_power_button(duration=-4s)"}}), badSource, "duration -4s is negative"},
		{"missing parameter", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"hold_power_button"}}), badSource, `effect hold_power_button needs parameter "duration"`},
		{"not key=value", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"hold_power_button(4s)"}}), badSource, `parameter "4s" is not key=value`},
		{"unclosed", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"hold_power_button(duration=4s"}}), badSource, "missing closing parenthesis"},
		{"parameter twice", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"pulse_reset(duration=1s, duration=2s)"}}), badSource, `parameter "duration" given twice`},
		{"bad bool", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"stop_process(force=maybe)"}}), badSource, `"maybe" is not true or false`},
		{"bad enum", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"record_boot_progress(stage=Warp)"}}), badSource, `"Warp" is not one of`},
		{"empty text", withTransition(Transition{From: "Idle", Trigger: "Leap", To: "Busy", Effects: []string{"alert(reason=)"}}), badSource, "empty value"},
		{"timeout effect needs a value", withTransition(Transition{From: "Busy", Trigger: TriggerTimeout, To: "Broken", Effects: []string{"record_power_status"}}), badSource,
			"effect record_power_status records an observed value, which a timeout has none of; set its status parameter"},
		{"both unguarded", withTransition(Transition{From: "Idle", Trigger: "Go", To: "Broken"}), badSource, "transitions Idle --Go--> Broken (unguarded) and --> Busy (unguarded) (at built-in) can both fire"},
		{"one unguarded", withTransition(Transition{From: "Busy", Trigger: "done", To: "Broken", Guards: []string{"auto_reboot"}}), badSource, "--done--> Broken [auto_reboot] and --> Idle (unguarded)"},
		{"guards not exclusive", func(m *Machine) {
			m.Transitions[0].Guards = []string{"bmc_ready"}
			withTransition(Transition{From: "Idle", Trigger: "Go", To: "Broken", Guards: []string{"chassis_on"}})(m)
		}, badSource, "[chassis_on] and --> Busy [bmc_ready] (at built-in) can both fire"},
		{"unreachable", withState(State{Name: "Island", Kind: Stable}), badSource, "state Island is not reachable from the initial state Idle"},
		{"no way out", func(m *Machine) {
			withState(State{Name: "Trap", Kind: Stable})(m)
			m.Transitions = append(m.Transitions, Transition{From: "Idle", Trigger: "Fall", To: "Trap"})
		}, badSource, "state Trap has no way out"},
		{"error state without a request out", func(m *Machine) { m.Transitions[2].Trigger = "repaired" }, "", "error state Broken has no request leading out of it"},
		{"transitional state that can wait forever", func(m *Machine) {
			withState(State{Name: "Waiting", Kind: Transitional})(m)
			m.Transitions = append(m.Transitions, Transition{From: "Idle", Trigger: "Wait", To: "Waiting"}, Transition{From: "Waiting", Trigger: "done", To: "Idle"})
		}, badSource, "transitional state Waiting has neither a timeout nor an exit into an error state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tiny()
			tc.breaks(m)
			problems := Validate(m)
			for _, p := range problems {
				if strings.Contains(p.Message, tc.want) {
					if p.Source != tc.source {
						t.Errorf("problem %q has source %q, want %q", p.Message, p.Source, tc.source)
					}
					if p.Machine != m.Kind {
						t.Errorf("problem %q has machine %q", p.Message, p.Machine)
					}
					return
				}
			}
			t.Errorf("no problem contains %q; got %v", tc.want, problems)
		})
	}
}

func TestGuardsWithAnExclusivePairAreAccepted(t *testing.T) {
	m := tiny()
	m.Transitions[0].Guards = []string{"bmc_ready", "chassis_on"}
	withTransition(Transition{From: "Idle", Trigger: "Go", To: "Broken", Guards: []string{"!chassis_on"}})(m)
	if ps := Validate(m); len(ps) != 0 {
		t.Errorf("exclusive guards reported: %v", ps)
	}
}

func TestCompileRefusesInvalidMachines(t *testing.T) {
	m := tiny()
	m.Initial = "Nowhere"
	m.Transitions[0].Effects = []string{"launch_missiles"}
	c, err := Compile(m)
	var invalid *InvalidMachineError
	if c != nil || !errors.As(err, &invalid) || !errors.Is(err, ErrInvalidMachine) {
		t.Fatalf("Compile = %v, %v", c, err)
	}
	if invalid.Machine != "tiny" || len(invalid.Problems) < 2 {
		t.Errorf("problems: %+v", invalid)
	}
	msg := err.Error()
	for _, want := range []string{"invalid tiny machine:", "\nbuilt-in: tiny: initial state Nowhere is not declared", `unknown effect "launch_missiles"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}

	if _, err := Compile(nil); !errors.Is(err, ErrInvalidMachine) {
		t.Errorf("Compile(nil) = %v", err)
	}
	if ps := Validate(nil); len(ps) != 1 || ps[0].Message != "machine is nil" {
		t.Errorf("Validate(nil) = %v", ps)
	}
}

func TestCompiledIsIndependentOfItsMachine(t *testing.T) {
	m := tiny()
	c := mustCompile(t, m)
	m.Transitions[0].To = "Broken"
	m.Transitions[0].Effects[0] = "nmi"
	st, _, effs, err := Step(c, NewStatus(c, t0), req("Go"), t0)
	if err != nil || st.State != "Busy" || effs[0].Name != "start_process" || c.Kind() != "tiny" {
		t.Errorf("Step after changing the machine: %+v %+v %v", st, effs, err)
	}
	// An undeclared timeout transition still fires, without effects.
	st, evs, effs, err := Step(c, st, tick(), t0.Add(time.Second))
	if err != nil || st.State != "Broken" || len(evs) != 1 || effs != nil {
		t.Errorf("timeout: %+v %+v %+v %v", st, evs, effs, err)
	}
}

func TestValidatePower(t *testing.T) {
	// host adds a Standby state, reached from Off and left by power good,
	// with the power given; the machine is otherwise the built-in one.
	host := func(kind string, power Power) *Machine {
		m := Host(DefaultHostConfig())
		if kind == KindService {
			m = Service(DefaultServiceConfig())
		}
		m.States = append(m.States, State{Name: "Standby", Kind: Stable, Power: power, Source: badSource})
		from := m.Initial
		m.Transitions = append(m.Transitions, Transition{From: from, Trigger: "standby", To: "Standby"},
			Transition{From: "Standby", Trigger: "Stop", To: from})
		return m
	}
	tests := []struct {
		name string
		m    *Machine
		want string // "" for valid
	}{
		{"host state with power on", host(KindHost, PowerOn), ""},
		{"host state with power any", host(KindHost, PowerAny), ""},
		{"host state without power", host(KindHost, ""), `state Standby has no power; say what power good reads in it (on, off or any)`},
		{"host state with a bad power", host(KindHost, "half"), `state Standby has unknown power "half" (use on, off or any)`},
		{"service state with power", host(KindService, PowerOff), `state Standby has power "off", but a service machine has no power good; remove it (only host and chassis states have one)`},
		{"service state without power", host(KindService, ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := Validate(tt.m)
			if tt.want == "" {
				if len(ps) != 0 {
					t.Fatalf("problems: %v", ps)
				}
				return
			}
			if len(ps) != 1 || ps[0].Message != tt.want || ps[0].Source != badSource {
				t.Fatalf("problems: %v\nwant one at %s: %s", ps, badSource, tt.want)
			}
		})
	}
	// Every built-in host and chassis state has a power, and the compiled
	// machine answers it.
	for _, m := range []*Machine{Host(DefaultHostConfig()), Chassis(DefaultChassisConfig())} {
		c, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m.States {
			if !slices.Contains(Powers, s.Power) || c.Power(s.Name) != s.Power {
				t.Errorf("%s %s: power %q, compiled %q", m.Kind, s.Name, s.Power, c.Power(s.Name))
			}
		}
	}
}
