package machine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func mustCompile(t testing.TB, m *Machine) *Compiled {
	t.Helper()
	c, err := Compile(m)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func req(trigger string) Input { return Input{Kind: KindRequest, Trigger: trigger} }
func obs(trigger string) Input { return Input{Kind: KindObservation, Trigger: trigger} }
func tick() Input              { return Input{Kind: KindTick} }

// resetReq is a BMC reset on a platform that can carry it out.
func resetReq(trigger string) Input { return req(trigger).with("bmc_reset_available") }

func (in Input) with(facts ...string) Input {
	in.Facts = Facts{}
	for _, f := range facts {
		in.Facts[f] = true
	}
	return in
}

func (in Input) value(v string) Input {
	in.Value = v
	return in
}

// render writes an effect as "name(k=v, ...)" with sorted keys, the way
// machines spell them, so tests can compare parameters too.
func render(effs []Effect) []string {
	out := make([]string, len(effs))
	for i, e := range effs {
		if len(e.Params) == 0 {
			out[i] = e.Name
			continue
		}
		var kv []string
		for _, k := range sortedKeys(e.Params) {
			kv = append(kv, k+"="+e.Params[k])
		}
		out[i] = fmt.Sprintf("%s(%s)", e.Name, strings.Join(kv, ", "))
	}
	return out
}

// stepCase is one row of a per-machine table: from a state (optionally
// adjusted), an input after some time, the state and effects expected.
type stepCase struct {
	name    string
	state   string
	setup   func(*Status)
	in      Input
	after   time.Duration
	want    string
	effects []string
	check   func(t *testing.T, st Status, evs []Event)
}

type edge struct{ from, trigger, to string }

// runSteps runs a table and then checks that the rows fired every declared
// transition of the machine, timeouts included.
func runSteps(t *testing.T, m *Machine, cases []stepCase) {
	t.Helper()
	c := mustCompile(t, m)
	fired := map[edge]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := NewStatus(c, t0)
			st.State = tc.state
			if tc.setup != nil {
				tc.setup(&st)
			}
			got, evs, effs, err := Step(c, st, tc.in, t0.Add(tc.after))
			if err != nil {
				t.Fatalf("Step: %v", err)
			}
			if got.State != tc.want {
				t.Fatalf("state = %s, want %s (events %+v)", got.State, tc.want, evs)
			}
			if r := render(effs); !slices.Equal(r, tc.effects) {
				t.Errorf("effects = %q, want %q", r, tc.effects)
			}
			var transitions []Event
			for _, e := range evs {
				if e.Type == EventTransition {
					transitions = append(transitions, e)
					fired[edge{e.From, e.Trigger, e.To}] = true
				}
			}
			if len(transitions) == 0 {
				t.Fatalf("no transition event: %+v", evs)
			}
			last := transitions[len(transitions)-1]
			if last.To != tc.want || transitions[0].From != tc.state {
				t.Errorf("transition events %+v do not lead from %s to %s", transitions, tc.state, tc.want)
			}
			if tc.check != nil {
				tc.check(t, got, evs)
			}
		})
	}
	for _, tr := range m.Transitions {
		if !fired[edge{tr.From, tr.Trigger, tr.To}] {
			t.Errorf("no row fires %s --%s--> %s %v", tr.From, tr.Trigger, tr.To, tr.Guards)
		}
	}
}

// checkRejections asks every state for every request the machine knows
// but the state does not accept, and every observation it ignores.
func checkRejections(t *testing.T, m *Machine) {
	t.Helper()
	c := mustCompile(t, m)
	accepts := map[[2]string]bool{}
	var requests, observations []string
	for _, tr := range m.Transitions {
		accepts[[2]string{tr.From, tr.Trigger}] = true
		switch {
		case isRequestName(tr.Trigger) && !slices.Contains(requests, tr.Trigger):
			requests = append(requests, tr.Trigger)
		case isObservationName(tr.Trigger) && tr.Trigger != TriggerTimeout && !slices.Contains(observations, tr.Trigger):
			observations = append(observations, tr.Trigger)
		}
	}
	for _, s := range m.States {
		st := NewStatus(c, t0)
		st.State = s.Name
		for _, r := range requests {
			if accepts[[2]string{s.Name, r}] {
				continue
			}
			got, evs, effs, err := Step(c, st, req(r), t0)
			var rej *RejectedError
			if !errors.As(err, &rej) || !errors.Is(err, ErrRejected) {
				t.Errorf("%s: %s in %s: err = %v, want a rejection", m.Kind, r, s.Name, err)
				continue
			}
			if rej.State != s.Name || rej.Request != r || !slices.Equal(rej.Allowed, Allowed(c, st, nil)) || rej.Hint == "" {
				t.Errorf("%s: %s in %s: rejection %+v", m.Kind, r, s.Name, rej)
			}
			if got != st || len(evs) != 0 || len(effs) != 0 {
				t.Errorf("%s: rejected %s in %s changed something: %+v %+v %+v", m.Kind, r, s.Name, got, evs, effs)
			}
		}
		for _, o := range observations {
			if accepts[[2]string{s.Name, o}] {
				continue
			}
			got, evs, effs, err := Step(c, st, obs(o), t0)
			if err != nil || got != st || len(effs) != 0 || len(evs) != 1 || evs[0].Type != EventIgnored || evs[0].State != s.Name {
				t.Errorf("%s: observation %s in %s: %+v %+v %+v %v, want one ignored event", m.Kind, o, s.Name, got, evs, effs, err)
			}
		}
	}
}

// requested sets the request that led into the state, as Step would.
func requested(name string) func(*Status) {
	return func(st *Status) { st.Requested = &Request{Name: name, Time: st.Since} }
}

func wantField(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
