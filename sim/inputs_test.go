package sim_test

import (
	"encoding/json"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/sim"
)

// TestInputCampaign runs the campaign on the platform with external
// inputs: reports, silence past the staleness timeout, flapping and lies
// drawn among every other action, every invariant (and those of the
// inputs) checked after every step.
func TestInputCampaign(t *testing.T) {
	c := sim.Campaign{Options: sim.Options{Platform: sim.InputsPlatform()}, Runs: 30, Steps: 300, Seed: 1, Workers: runtime.GOMAXPROCS(0)}
	if testing.Short() {
		c.Runs, c.Steps = 6, 100
	}
	sum, failures := c.Run(ctx)
	t.Logf("%d runs, %d actions in %s; by kind %v; sagas %v; invariants checked %v", sum.Runs, sum.Actions, sum.Elapsed, sum.ByKind, sum.Sagas, sum.Invariants)
	if len(failures) > 0 {
		f := failures[0]
		t.Fatalf("seed %d: %v\nreplay with: statemgr sim --inputs --seed %d --steps %d\nreproduction: %s", f.Seed, f.Err, f.Seed, c.Steps, sim.Reproduction(f.Actions, f.Err))
	}
	for _, k := range []sim.ActionKind{sim.InputReport, sim.InputStale, sim.InputFlap, sim.InputLie} {
		if sum.ByKind[k] == 0 {
			t.Errorf("no %s drawn", k)
		}
	}
	for _, inv := range sim.InputInvariants {
		if sum.Invariants[inv] == 0 {
			t.Errorf("invariant %s never checked", inv)
		}
	}
}

var (
	inletNormal   = sim.Action{Kind: sim.InputReport, Input: "thermal.inlet", Level: coordinator.LevelNormal}
	inletCritical = sim.Action{Kind: sim.InputReport, Input: "thermal.inlet", Level: coordinator.LevelCritical}
	hostOnChassis = coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.0", PowerChassis: true, Requester: "user:test"}
)

func submitted(r coordinator.Request) sim.Action {
	return sim.Action{Kind: sim.Submit, Requests: []coordinator.Request{r}}
}

func advance(d time.Duration) sim.Action { return sim.Action{Kind: sim.Advance, Duration: d} }

// runInputs runs actions on the inputs platform with opts' other fields.
func runInputs(t *testing.T, opts sim.Options, actions []sim.Action) (sim.Report, string, error) {
	t.Helper()
	opts.Platform = sim.InputsPlatform()
	var trace strings.Builder
	rep, err := sim.Run(ctx, opts, actions, &trace)
	return rep, trace.String(), err
}

// TestStaleInputBlocksPowerOn: with no report from the thermal manager
// (unknown blocks power-on), a power-on is refused; once it reports it is
// admitted; once it goes silent past stale_after, refused again. A build
// whose coordinator ignores the inputs admits the first and breaks
// InvInputBlocksPowerOn.
func TestStaleInputBlocksPowerOn(t *testing.T) {
	actions := []sim.Action{
		submitted(hostOnChassis), advance(10 * time.Second),
		inletNormal, submitted(hostOnChassis), advance(30 * time.Second),
		{Kind: sim.InputStale, Input: "thermal.inlet", Duration: 40 * time.Second},
		submitted(coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.1", Requester: "user:test"}),
	}
	rep, trace, err := runInputs(t, sim.Options{}, actions)
	if err != nil {
		t.Fatalf("%v\n%s", err, trace)
	}
	for step, want := range map[int]string{0: "thermal", 3: "ok", 6: "thermal"} {
		if !strings.Contains(rep.Results[step], want) {
			t.Fatalf("step %d: %q, want %q\n%s", step, rep.Results[step], want, trace)
		}
	}
	_, trace, err = runInputs(t, sim.Options{IgnoreInputs: true}, actions)
	if v, ok := sim.IsViolation(err); !ok || v.Invariant != sim.InvInputBlocksPowerOn || v.Step != 0 {
		t.Fatalf("a build ignoring the inputs gave %v, want %s at step 0\n%s", err, sim.InvInputBlocksPowerOn, trace)
	}
}

// TestCriticalInputPowersOff: a critical report from the thermal manager
// forces the powered hosts off within the thermal bound; flapping
// afterwards leaves them off and every invariant holding. A build whose
// coordinator ignores the inputs breaks InvCriticalInputPowersOff.
func TestCriticalInputPowersOff(t *testing.T) {
	actions := []sim.Action{
		inletNormal, submitted(hostOnChassis), advance(30 * time.Second),
		inletCritical, advance(time.Minute),
		{Kind: sim.InputFlap, Input: "thermal.inlet", Count: 6, Duration: 500 * time.Millisecond}, advance(time.Minute),
	}
	rep, trace, err := runInputs(t, sim.Options{}, actions)
	if err != nil {
		t.Fatalf("%v\n%s", err, trace)
	}
	if rep.Power.Hosts["host.0"] || rep.Power.Hosts["host.1"] {
		t.Fatalf("hosts powered after a critical inlet: %v\n%s", rep.Power, trace)
	}
	_, trace, err = runInputs(t, sim.Options{IgnoreInputs: true}, actions)
	if v, ok := sim.IsViolation(err); !ok || v.Invariant != sim.InvCriticalInputPowersOff || v.Step != 3 {
		t.Fatalf("a build ignoring the inputs gave %v, want %s at step 3\n%s", err, sim.InvCriticalInputPowersOff, trace)
	}
}

// TestLyingInputCannotMaskZone: the thermal manager keeps reporting
// normal while the board's zone0 runs away past its critical limit; the
// board's own sensor still starts the emergency. A build that never
// reads the board's zones (its reconciliation never comes round) breaks
// InvZoneNotMasked.
func TestLyingInputCannotMaskZone(t *testing.T) {
	actions := []sim.Action{inletNormal, submitted(hostOnChassis), advance(30 * time.Second),
		{Kind: sim.InputLie, Input: "thermal.inlet", Level: coordinator.LevelNormal, Fault: &simhw.Fault{Kind: simhw.ThermalRunaway, Target: "zone0", Rate: 5}}}
	for range 24 { // 8 min, reported every 20 s: the lie never goes stale
		actions = append(actions, advance(20*time.Second), inletNormal)
	}
	rep, trace, err := runInputs(t, sim.Options{}, actions)
	if err != nil {
		t.Fatalf("%v\n%s", err, trace)
	}
	if rep.Power.Hosts["host.0"] {
		t.Fatalf("host.0 powered with zone0 critical under a lying inlet\n%s", trace)
	}
	_, trace, err = runInputs(t, sim.Options{ReconcileEvery: 2 * time.Hour}, actions)
	if v, ok := sim.IsViolation(err); !ok || v.Invariant != sim.InvZoneNotMasked {
		t.Fatalf("a build that never reads its zones gave %v, want %s\n%s", err, sim.InvZoneNotMasked, trace)
	}
}

// TestIgnoredInputsAreFoundByRapid: rapid, drawing whole campaign runs on
// a build whose coordinator ignores the inputs, finds a power-on admitted
// while an input blocks it, and its shrunk reproduction replays the
// failure.
func TestIgnoredInputsAreFoundByRapid(t *testing.T) {
	if testing.Short() {
		// Rapid's search and shrink boot a world per check: ~40 s alone,
		// minutes under -race. TestStaleInputBlocksPowerOn catches the same
		// broken build in -short runs.
		t.Skip("long: rapid's search for the build that ignores its inputs runs without -short")
	}
	opts := sim.Options{Platform: sim.InputsPlatform(), IgnoreInputs: true}
	rec := &recorder{name: t.Name()}
	withFlags(t, map[string]string{"rapid.checks": "100", "rapid.nofailfile": "true", "rapid.seed": "1"}, func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			rapid.Check(rec, property(opts, 40, sim.InvInputBlocksPowerOn))
		}()
		<-done
	})
	out := rec.out.String()
	if !rec.Failed() || !strings.Contains(out, sim.InvInputBlocksPowerOn) {
		t.Fatalf("rapid did not find the ignored inputs:\n%s", out)
	}
	repros := regexp.MustCompile(`reproduction: (\[.*\])`).FindAllStringSubmatch(out, -1)
	if len(repros) == 0 {
		t.Fatalf("no reproduction printed:\n%s", out)
	}
	var shrunk []sim.Action
	if err := json.Unmarshal([]byte(repros[len(repros)-1][1]), &shrunk); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Run(ctx, opts, shrunk, nil); !violates(err, sim.InvInputBlocksPowerOn) {
		t.Fatalf("the shrunk reproduction %v does not fail: %v", shrunk, err)
	}
	// The same actions on the sound build break nothing of the inputs.
	opts.IgnoreInputs = false
	if _, err := sim.Run(ctx, opts, shrunk, nil); err != nil {
		t.Fatalf("the sound build fails the reproduction: %v", err)
	}
	t.Logf("shrunk to %d actions: %v", len(shrunk), shrunk)
}
