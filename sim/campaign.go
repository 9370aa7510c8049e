package sim

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Campaign is many runs of one length, run i with seed Seed+i.
type Campaign struct {
	Options Options
	Runs    int
	Steps   int
	Seed    uint64
	// Workers run simulations side by side; default 1. Each run is
	// deterministic on its own, whatever runs beside it.
	Workers int
	// Progress, if set, hears of every finished run.
	Progress func(done, total int, sum Summary)
}

// Failure is a run that broke an invariant (or could not run): its seed
// and actions replay it exactly.
type Failure struct {
	Seed    uint64
	Actions []Action
	Err     error
}

// ActionsFor returns the actions of run seed: what statemgr sim --seed
// replays, and what rapid draws for that seed in the property tests.
func ActionsFor(opts Options, seed uint64, steps int) []Action {
	return NewGenerator(opts.Platform).Actions(steps).Example(int(seed))
}

// Run runs the campaign and returns its summary and the failures, lowest
// seed first; it stops starting runs at the first failure.
func (c Campaign) Run(ctx context.Context) (Summary, []Failure) {
	workers := max(1, c.Workers)
	start := time.Now()
	var (
		mu       sync.Mutex
		sum      Summary
		failures []Failure
		done     int
		next     int
		wg       sync.WaitGroup
	)
	sum.Add(Summary{})
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= c.Runs || len(failures) > 0 || ctx.Err() != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, ok := take(); ok; i, ok = take() {
				seed := c.Seed + uint64(i)
				actions := ActionsFor(c.Options, seed, c.Steps)
				r, err := Run(ctx, c.Options, actions, nil)
				mu.Lock()
				sum.Add(r.Summary)
				done++
				if err != nil && !errors.Is(err, context.Canceled) {
					failures = append(failures, Failure{Seed: seed, Actions: actions, Err: err})
				}
				if c.Progress != nil {
					c.Progress(done, c.Runs, sum)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Runs side by side add up their times; the campaign's is the wall
	// clock's.
	sum.Elapsed = time.Since(start)
	slices.SortFunc(failures, func(a, b Failure) int { return cmp.Compare(a.Seed, b.Seed) })
	return sum, failures
}
