package process

import (
	"fmt"
	"time"

	"github.com/statemgr/statemgr/adapters/platform"
)

// restartState is what the restart policy remembers between failures.
type restartState struct {
	starts   []time.Time // spawn times, the last within the start limit's interval
	failures int         // consecutive failures, for the backoff
}

// restartVerdict is what the restart policy decides about one failure.
type restartVerdict struct {
	restart   bool
	delay     time.Duration
	thrashing string // non-empty when the start limit forbids the restart
}

// decideRestart applies the service's restart policy, start limit and
// backoff to a failure at now of a process that exited with exit (nil: it
// did not exit, a check failed) and was last ready at readyAt (zero: not
// ready since it spawned). It returns the verdict and the state after it;
// it reads no clock and changes nothing of st (the Supervisor keeps the
// state, and its tests check this against a replay of the whole history).
func decideRestart(policy platform.RestartPolicy, limit platform.StartLimit, st restartState, exit *ExitStatus, readyAt, now time.Time) (restartVerdict, restartState) {
	switch policy.Policy {
	case platform.RestartAlways:
	case platform.RestartOnFailure:
		if exit != nil && exit.Success() {
			return restartVerdict{}, st
		}
	default:
		return restartVerdict{}, st
	}
	var recent []time.Time
	for _, t := range st.starts {
		if now.Sub(t) < limit.Interval {
			recent = append(recent, t)
		}
	}
	next := restartState{starts: recent, failures: st.failures}
	if len(recent) >= limit.Count {
		return restartVerdict{thrashing: fmt.Sprintf("thrashing: %d starts within %s, no more restarts until reset", len(recent), limit.Interval)}, next
	}
	if !readyAt.IsZero() && now.Sub(readyAt) >= policy.MaxDelay {
		next.failures = 0 // it ran well for a while: back off from the start again
	}
	next.failures++
	delay := policy.Delay
	for i := 1; i < next.failures && delay < policy.MaxDelay; i++ {
		delay *= 2
	}
	return restartVerdict{restart: true, delay: min(delay, policy.MaxDelay)}, next
}
