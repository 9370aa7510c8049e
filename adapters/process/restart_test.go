package process

import (
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/adapters/platform"
)

// restartOracle is the dumb version of the restart policy: it keeps the
// whole history since the last reset and answers each failure from it
// alone, with no state carried from one answer to the next.
type restartOracle struct {
	policy platform.RestartPolicy
	limit  platform.StartLimit
	spawns []time.Time
	// restarts are the failures that restarted, and whether the process
	// had run well (ready for MaxDelay) before each.
	restarts []bool
}

func (o *restartOracle) decide(exit *ExitStatus, readyAt, now time.Time) restartVerdict {
	restartable := o.policy.Policy == platform.RestartAlways ||
		o.policy.Policy == platform.RestartOnFailure && (exit == nil || !exit.Success())
	if !restartable {
		return restartVerdict{}
	}
	inInterval := 0
	for _, t := range o.spawns {
		if now.Sub(t) < o.limit.Interval {
			inInterval++
		}
	}
	if inInterval >= o.limit.Count {
		return restartVerdict{thrashing: "thrashing"}
	}
	o.restarts = append(o.restarts, !readyAt.IsZero() && now.Sub(readyAt) >= o.policy.MaxDelay)
	// Consecutive failures: the restarts back to the last that followed a
	// good run, or to the reset.
	consecutive := 0
	for i := len(o.restarts) - 1; i >= 0; i-- {
		consecutive++
		if o.restarts[i] {
			break
		}
	}
	delay := math.Min(float64(o.policy.Delay)*math.Pow(2, float64(consecutive-1)), float64(o.policy.MaxDelay))
	return restartVerdict{restart: true, delay: time.Duration(delay)}
}

// Ensure decideRestart, chained as the Supervisor chains it, agrees with
// the oracle's replay of the whole history for any policy and any run of
// spawns, ready signals, failures (clean exits, failed exits, failed
// checks) and resets, and never changes the state it is given.
func TestDecideRestartAgreesWithAReplay(t *testing.T) {
	// Times on a 250 ms grid, so that a start exactly one interval old and
	// a run exactly MaxDelay long are drawn often.
	ticks := func(rt *rapid.T, name string, most int) time.Duration {
		return time.Duration(rapid.IntRange(0, most).Draw(rt, name)) * 250 * time.Millisecond
	}
	rapid.Check(t, func(rt *rapid.T) {
		policy := platform.RestartPolicy{
			Policy:   rapid.SampledFrom([]platform.Restart{platform.RestartAlways, platform.RestartOnFailure, platform.RestartNever}).Draw(rt, "policy"),
			Delay:    ticks(rt, "delay", 8),
			MaxDelay: ticks(rt, "max_delay", 40),
		}
		limit := platform.StartLimit{
			Count:    rapid.IntRange(1, 6).Draw(rt, "count"),
			Interval: ticks(rt, "interval", 80),
		}
		oracle := &restartOracle{policy: policy, limit: limit}
		var st restartState
		var readyAt time.Time
		now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
		for step := range rapid.IntRange(1, 60).Draw(rt, "steps") {
			now = now.Add(ticks(rt, "elapse", 20))
			switch event := rapid.SampledFrom([]string{"spawn", "ready", "exit 0", "exit 1", "check failed", "reset"}).Draw(rt, "event"); event {
			case "spawn":
				st.starts = append(st.starts, now)
				oracle.spawns = append(oracle.spawns, now)
				readyAt = time.Time{}
			case "ready":
				readyAt = now
			case "reset":
				st = restartState{}
				oracle.spawns, oracle.restarts = nil, nil
			default:
				var exit *ExitStatus
				switch event {
				case "exit 0":
					exit = &ExitStatus{}
				case "exit 1":
					exit = &ExitStatus{Code: 1}
				}
				given := slices.Clone(st.starts)
				got, next := decideRestart(policy, limit, st, exit, readyAt, now)
				if !slices.Equal(st.starts, given) {
					rt.Fatalf("step %d: decideRestart changed the starts it was given: %v, was %v", step, st.starts, given)
				}
				want := oracle.decide(exit, readyAt, now)
				if got.restart != want.restart || got.delay != want.delay || (got.thrashing != "") != (want.thrashing != "") {
					rt.Fatalf("step %d (%s at %v, ready at %v, %+v): decideRestart %+v, the replay %+v", step, event, now, readyAt, st, got, want)
				}
				st = next
			}
		}
	})
}
