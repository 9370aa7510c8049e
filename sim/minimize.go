package sim

import (
	"context"
	"fmt"
)

// Minimize removes from actions every action the violation of invariant
// does not need, by delta debugging (Zeller's ddmin) over replays: a run
// is deterministic, so a shorter list that still breaks invariant is a
// reproduction too. The result is 1-minimal: dropping any single action
// of it no longer breaks invariant. rapid's shrinking cannot drop the
// steps of a fixed-length run (it can only make them advances of zero);
// this can. It costs one run per candidate: tens to a few hundred runs.
func Minimize(ctx context.Context, opts Options, actions []Action, invariant string) ([]Action, error) {
	// breaks reports whether as breaks invariant, and the actions up to
	// the step that broke it (what comes after it plays no part).
	breaks := func(as []Action) ([]Action, bool, error) {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		_, err := Run(ctx, opts, as, nil)
		v, ok := IsViolation(err)
		if !ok || v.Invariant != invariant {
			return nil, false, nil
		}
		return as[:min(v.Step+1, len(as))], true, nil
	}
	cur, ok, err := breaks(Compact(actions))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: the actions do not break %s", ErrInvalidAction, invariant)
	}
	for n := 2; len(cur) >= 2; {
		chunk := (len(cur) + n - 1) / n
		reduced := false
		for start := 0; start < len(cur); start += chunk {
			cand := append(append([]Action(nil), cur[:start]...), cur[min(start+chunk, len(cur)):]...)
			shorter, ok, err := breaks(cand)
			if err != nil {
				return nil, err
			}
			if ok {
				cur, reduced = shorter, true
				n = max(n-1, 2)
				break
			}
		}
		if !reduced {
			if n >= len(cur) {
				break
			}
			n = min(2*n, len(cur))
		}
	}
	return cur, nil
}
