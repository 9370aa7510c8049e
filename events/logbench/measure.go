package logbench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Limit says how long Measure runs: for Count appends in all, or, when
// Count is 0, for Duration.
type Limit struct {
	Count    int
	Duration time.Duration
}

// Sample is the outcome of one Measure run.
type Sample struct {
	Appenders    int     `json:"appenders"`
	Events       int     `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	P50Micros    float64 `json:"p50_us"`
	P99Micros    float64 `json:"p99_us"`
	MaxMicros    float64 `json:"max_us"`
}

// Measure runs appenders goroutines against a until lim is reached, each
// appending to its own stream, and returns the throughput and the latency
// percentiles of every append. The first error stops the run and is
// returned.
func Measure(ctx context.Context, a Appender, appenders int, lim Limit) (Sample, error) {
	if appenders < 1 {
		return Sample{}, fmt.Errorf("%w: %d appenders; pass at least 1", ErrConfig, appenders)
	}
	if lim.Count <= 0 && lim.Duration <= 0 {
		return Sample{}, fmt.Errorf("%w: neither an append count nor a duration to run for", ErrConfig)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		remaining atomic.Int64
		wg        sync.WaitGroup
		errOnce   sync.Once
		firstErr  error
		start     = make(chan struct{})
		lats      = make([][]time.Duration, appenders)
		deadline  time.Time
	)
	remaining.Store(int64(lim.Count))
	more := func() bool {
		if lim.Count > 0 {
			return remaining.Add(-1) >= 0
		}
		return time.Now().Before(deadline)
	}
	for w := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 4096)
			<-start
			for seq := uint64(1); ctx.Err() == nil && more(); seq++ {
				t0 := time.Now()
				if err := a.Append(ctx, w, seq); err != nil {
					errOnce.Do(func() {
						firstErr = fmt.Errorf("appender %d, append %d: %w", w, seq, err)
						cancel()
					})
					break
				}
				own = append(own, time.Since(t0))
			}
			lats[w] = own
		}()
	}
	t0 := time.Now()
	deadline = t0.Add(lim.Duration)
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	if firstErr != nil {
		return Sample{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	s := Sample{
		Appenders:    appenders,
		Events:       len(all),
		Seconds:      elapsed.Seconds(),
		EventsPerSec: float64(len(all)) / elapsed.Seconds(),
		P50Micros:    micros(Percentile(all, 0.50)),
		P99Micros:    micros(Percentile(all, 0.99)),
	}
	if len(all) > 0 {
		s.MaxMicros = micros(all[len(all)-1])
	}
	return s, nil
}
