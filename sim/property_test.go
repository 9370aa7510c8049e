package sim_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/sim"
)

// property is what rapid checks: the actions it draws run with every
// invariant holding (only, if set: with that invariant holding). A
// failure prints the reproduction of the actions as rapid has shrunk them.
func property(opts sim.Options, steps int, only string) func(*rapid.T) {
	gen := sim.NewGenerator(opts.Platform).Actions(steps)
	return func(t *rapid.T) {
		actions := gen.Draw(t, "actions")
		if _, err := sim.Run(ctx, opts, actions, nil); err != nil && (only == "" || violates(err, only)) {
			t.Fatalf("%v\nreproduction: %s", err, sim.Reproduction(actions, err))
		}
	}
}

// TestCampaign runs the CI campaign: at least 100k simulated actions (a
// few thousand with -short), every invariant checked after every step. A
// failing run is handed to rapid with its seed, which finds the same
// actions, shrinks them and prints the reproduction.
func TestCampaign(t *testing.T) {
	c := sim.Campaign{Runs: 250, Steps: 400, Seed: 1, Workers: runtime.GOMAXPROCS(0)}
	if testing.Short() {
		c.Runs, c.Steps = 10, 100
	}
	sum, failures := c.Run(ctx)
	t.Logf("%d runs, %d actions in %s: %.0f actions/s; crashes %d, faults %d, sagas %v",
		sum.Runs, sum.Actions, sum.Elapsed, sum.ActionsPerSecond(), sum.Crashes, sum.Faults, sum.Sagas)
	if len(failures) > 0 {
		f := failures[0]
		t.Logf("seed %d failed: %v\nreplay with: statemgr sim --seed %d --steps %d", f.Seed, f.Err, f.Seed, c.Steps)
		withFlags(t, map[string]string{"rapid.seed": fmt.Sprint(f.Seed), "rapid.checks": "1"}, func() {
			rapid.Check(t, property(c.Options, c.Steps, ""))
		})
		t.Fatalf("seed %d: %v (rapid did not reproduce it)", f.Seed, f.Err)
	}
	for _, inv := range sim.Invariants {
		if sum.Invariants[inv] == 0 && !testing.Short() {
			t.Errorf("invariant %s never checked", inv)
		}
	}
	if !testing.Short() && sum.Actions < 100_000 {
		t.Errorf("campaign ran %d actions, want at least 100k", sum.Actions)
	}
}

// withFlags sets rapid's flags for f and restores them.
func withFlags(t *testing.T, set map[string]string, f func()) {
	old := map[string]string{}
	for name, v := range set {
		old[name] = flag.Lookup(name).Value.String()
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for name, v := range old {
			_ = flag.Set(name, v)
		}
	}()
	f()
}

// withoutGuard returns a Machine option that removes guard from every
// transition of kind's machine: a build with a deliberately broken
// interlock.
func withoutGuard(kind, guard string) func(actors.ID, *machine.Machine) *machine.Machine {
	return func(id actors.ID, m *machine.Machine) *machine.Machine {
		if id.Kind() != kind {
			return m
		}
		broken := *m
		broken.Transitions = slices.Clone(m.Transitions)
		for i, tr := range broken.Transitions {
			broken.Transitions[i].Guards = slices.DeleteFunc(slices.Clone(tr.Guards), func(g string) bool { return g == guard })
		}
		return &broken
	}
}

// recorder is a rapid.TB that keeps what rapid reports instead of
// failing the test, so a test can check a failure rapid finds.
type recorder struct {
	name   string
	mu     sync.Mutex
	out    strings.Builder
	failed bool
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.out, format+"\n", args...)
}
func (r *recorder) Log(args ...any)                   { r.Logf("%s", fmt.Sprint(args...)) }
func (r *recorder) Skipf(format string, args ...any)  { r.Logf(format, args...); runtime.Goexit() }
func (r *recorder) Skip(args ...any)                  { r.Log(args...); runtime.Goexit() }
func (r *recorder) SkipNow()                          { runtime.Goexit() }
func (r *recorder) Errorf(format string, args ...any) { r.Logf(format, args...); r.Fail() }
func (r *recorder) Error(args ...any)                 { r.Log(args...); r.Fail() }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); r.FailNow() }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...); r.FailNow() }
func (r *recorder) FailNow()                          { r.Fail(); runtime.Goexit() }
func (r *recorder) Fail()                             { r.mu.Lock(); r.failed = true; r.mu.Unlock() }
func (r *recorder) Failed() bool                      { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }

// TestBrokenChassisGuardIsCaught builds the system with the chassis
// machine's hosts_off guard removed, so a chassis power off reaches a
// chassis with running hosts (the API's control subject sends it straight
// to the component). rapid must find the broken invariant, shrink it, and
// both its seed and its shrunk reproduction must replay the failure.
func TestBrokenChassisGuardIsCaught(t *testing.T) {
	const steps = 60
	opts := sim.Options{Machine: withoutGuard(actors.KindChassis, "hosts_off")}
	rec := &recorder{name: t.Name()}
	// A fixed seed: with a random one rapid found the bug in most runs but
	// not all (under -short rapid runs a fifth of its checks, 60, and a
	// -race CI run once found nothing in them). This seed's first check
	// already breaks the interlock; should the simulation's actions change
	// so that it no longer does, the test fails and a new seed is needed:
	// run it with "rapid.seed": "0" and take the seed it prints.
	withFlags(t, map[string]string{"rapid.checks": "300", "rapid.nofailfile": "true", "rapid.seed": "12054752436626510279"}, func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Only the invariant the broken guard protects: the broken build
			// may break others on the way, which are not what is shown here.
			rapid.Check(rec, property(opts, steps, sim.InvHostNeedsChassis))
		}()
		<-done
	})
	out := rec.out.String()
	if !rec.Failed() || !strings.Contains(out, sim.InvHostNeedsChassis) {
		t.Fatalf("rapid did not find the broken interlock:\n%s", out)
	}
	m := regexp.MustCompile(`-rapid\.seed=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("rapid printed no seed:\n%s", out)
	}
	seed, _ := strconv.ParseUint(m[1], 10, 64)
	// The seed replays the run as rapid first found it, as statemgr sim
	// --seed does.
	if _, err := sim.Run(ctx, opts, sim.ActionsFor(opts, seed, steps), nil); !violates(err, sim.InvHostNeedsChassis) {
		t.Fatalf("seed %d does not replay the failure: %v", seed, err)
	}
	// rapid's last report is the shrunk run; its reproduction replays.
	repros := regexp.MustCompile(`reproduction: (\[.*\])`).FindAllStringSubmatch(out, -1)
	if len(repros) == 0 {
		t.Fatalf("no reproduction printed:\n%s", out)
	}
	var shrunk []sim.Action
	if err := json.Unmarshal([]byte(repros[len(repros)-1][1]), &shrunk); err != nil {
		t.Fatal(err)
	}
	var trace strings.Builder
	if _, err := sim.Run(ctx, opts, shrunk, &trace); !violates(err, sim.InvHostNeedsChassis) {
		t.Fatalf("the shrunk reproduction does not fail: %v\n%s", err, trace.String())
	}
	// rapid cannot drop a step of a fixed-length run, only make it an
	// advance of zero, which Compact drops, or a short advance; how far it
	// gets in its shrink time varies (10 to 40 of 60 here).
	if len(shrunk) >= steps {
		t.Errorf("rapid shrank the failure to %d actions only:\n%s", len(shrunk), trace.String())
	}
	// Replays are deterministic, so Minimize can drop what rapid could not.
	minimal, err := sim.Minimize(ctx, opts, shrunk, sim.InvHostNeedsChassis)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Run(ctx, opts, minimal, nil); !violates(err, sim.InvHostNeedsChassis) || len(minimal) > len(shrunk) {
		t.Fatalf("minimized to %d actions (from %d), which give %v", len(minimal), len(shrunk), err)
	}
	for i := range minimal {
		without := append(slices.Clone(minimal[:i]), minimal[i+1:]...)
		if _, err := sim.Run(ctx, opts, without, nil); violates(err, sim.InvHostNeedsChassis) {
			t.Fatalf("minimized reproduction still fails without action %d (%s): not minimal", i, minimal[i])
		}
	}
	var mtrace strings.Builder
	_, _ = sim.Run(ctx, opts, minimal, &mtrace)
	t.Logf("found with seed %d, shrunk by rapid to %d actions, minimized to %d:\n%s", seed, len(shrunk), len(minimal), mtrace.String())
}

func violates(err error, invariant string) bool {
	v, ok := sim.IsViolation(err)
	return ok && v.Invariant == invariant
}
