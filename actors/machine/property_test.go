package machine

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// subject is a machine under property test with the vocabulary to draw
// inputs from.
type subject struct {
	m        *Machine
	c        *Compiled
	triggers []string
	declared map[edge]bool
}

func subjects(t *testing.T) []subject {
	extended, err := Extend(Service(ServiceConfig{StartTimeout: time.Minute, StopTimeout: 30 * time.Second}), syncing(), connecting())
	if err != nil {
		t.Fatal(err)
	}
	var out []subject
	for _, m := range []*Machine{Host(DefaultHostConfig()), Chassis(DefaultChassisConfig()), BMC(DefaultBMCConfig()), Service(DefaultServiceConfig()), extended} {
		s := subject{m: m, c: mustCompile(t, m), declared: map[edge]bool{}}
		for _, tr := range m.Transitions {
			s.declared[edge{tr.From, tr.Trigger, tr.To}] = true
			if !slices.Contains(s.triggers, tr.Trigger) {
				s.triggers = append(s.triggers, tr.Trigger)
			}
		}
		for _, st := range m.States {
			if st.Timeout > 0 {
				s.declared[edge{st.Name, TriggerTimeout, st.TimeoutTo}] = true
			}
		}
		// Words the machine does not know, spelled right and wrong.
		s.triggers = append(s.triggers, "Suspend", "cosmic_ray", "not a trigger", "")
		out = append(out, s)
	}
	return out
}

type drawnStep struct {
	in      Input
	advance time.Duration
}

func drawStep(s subject) *rapid.Generator[drawnStep] {
	values := []string{"", BootProgressMemoryInit, BootProgressOSRunning, PowerStatusGood, PowerStatusBrownOut,
		RebootCauseWatchdog, RebootCausePOR, "Bogus"}
	facts := sortedKeys(guardRegistry)
	advances := []time.Duration{0, time.Millisecond, time.Second, 8 * time.Second, 15 * time.Second,
		time.Minute, 5 * time.Minute, 11 * time.Minute, 2 * time.Hour}
	return rapid.Custom(func(t *rapid.T) drawnStep {
		in := Input{
			Kind:      rapid.SampledFrom([]InputKind{KindRequest, KindObservation, KindObservation, KindTick, "rumour"}).Draw(t, "kind"),
			Trigger:   rapid.SampledFrom(s.triggers).Draw(t, "trigger"),
			Operation: rapid.SampledFrom([]string{"", "op-1", "op-2"}).Draw(t, "operation"),
			Value:     rapid.SampledFrom(values).Draw(t, "value"),
			Facts:     Facts{},
		}
		for _, f := range facts {
			if rapid.Bool().Draw(t, f) {
				in.Facts[f] = true
			}
		}
		return drawnStep{in: in, advance: rapid.SampledFrom(advances).Draw(t, "advance")}
	})
}

// TestStepProperties drives every machine with random inputs and checks
// that Step never panics, never leaves the declared states, reports only
// declared transitions (or timeouts) that chain from the old state to the
// new one, is deterministic, and returns statuses that survive JSON.
func TestStepProperties(t *testing.T) {
	all := subjects(t)
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.SampledFrom(all).Draw(t, "machine")
		st := NewStatus(s.c, t0)
		now := t0
		steps := rapid.SliceOfN(drawStep(s), 1, 60).Draw(t, "steps")
		for i, step := range steps {
			now = now.Add(step.advance)
			next, evs, effs, err := Step(s.c, st, step.in, now)

			again, evs2, effs2, err2 := Step(s.c, st, step.in, now)
			if !reflect.DeepEqual(next, again) || !reflect.DeepEqual(evs, evs2) || !reflect.DeepEqual(effs, effs2) || errString(err) != errString(err2) {
				t.Fatalf("step %d: Step is not deterministic", i)
			}

			if slices.IndexFunc(s.m.States, func(d State) bool { return d.Name == next.State }) < 0 {
				t.Fatalf("step %d: left the declared states for %q", i, next.State)
			}
			at := st.State
			for _, e := range evs {
				if e.Type != EventTransition {
					continue
				}
				if !s.declared[edge{e.From, e.Trigger, e.To}] {
					t.Fatalf("step %d: undeclared transition %s --%s--> %s", i, e.From, e.Trigger, e.To)
				}
				if e.From != at {
					t.Fatalf("step %d: transition from %s while the machine was in %s", i, e.From, at)
				}
				if e.Time.After(now) {
					t.Fatalf("step %d: event dated %v after now %v", i, e.Time, now)
				}
				at = e.To
			}
			if at != next.State {
				t.Fatalf("step %d: events end in %s but the status is in %s", i, at, next.State)
			}
			if next.Transitions < st.Transitions {
				t.Fatalf("step %d: transition count went down", i)
			}
			if d, ok := NextDeadline(s.c, next); ok && !d.After(now) {
				t.Fatalf("step %d: %s is left with a deadline %v not after now %v", i, next.State, d, now)
			}

			var rej *RejectedError
			switch {
			case err == nil:
			case errors.As(err, &rej):
				if step.in.Kind != KindRequest || rej.State != next.State {
					t.Fatalf("step %d: rejection %v for a %s", i, err, step.in.Kind)
				}
			case errors.Is(err, ErrInvalidInput):
			default:
				t.Fatalf("step %d: unexpected error %v", i, err)
			}
			if err != nil && len(effs) > 0 && evs[0].Trigger != TriggerTimeout {
				t.Fatalf("step %d: effects %v beyond a timeout returned with error %v", i, effs, err)
			}

			data, jerr := json.Marshal(next)
			if jerr != nil {
				t.Fatal(jerr)
			}
			var back Status
			if jerr := json.Unmarshal(data, &back); jerr != nil || !reflect.DeepEqual(back, next) {
				t.Fatalf("step %d: status does not survive JSON: %s", i, data)
			}
			st = next
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func BenchmarkStep(b *testing.B) {
	c := mustCompile(b, Host(DefaultHostConfig()))
	cycle := []Input{req(RequestOn), obs(ObservedPowerGoodAsserted), obs(ObservedBootProgress).value(BootProgressOSRunning),
		req(RequestGracefulShutdown), obs(ObservedPowerGoodDeasserted)}
	st := NewStatus(c, t0)
	now := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Second)
		var err error
		st, _, _, err = Step(c, st, cycle[i%len(cycle)], now)
		if err != nil {
			b.Fatal(err)
		}
	}
}
