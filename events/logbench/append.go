package logbench

import (
	"context"
	"fmt"
	"os"
)

// Targets of the Append benchmark, checked at TargetAppenders.
const (
	TargetAppenders = 64
	TargetVsRaw     = 0.5    // Statemgr throughput ≥ 0.5× Raw
	TargetVsNaive   = 4.0    // Statemgr throughput ≥ 4× Naive
	TargetP99Micros = 5000.0 // Statemgr p99 ≤ 5 ms
)

// SystemResult is one system at one concurrency level: the medians over
// the repetitions, and every run.
type SystemResult struct {
	System       System   `json:"system"`
	EventsPerSec float64  `json:"events_per_sec"`
	P50Micros    float64  `json:"p50_us"`
	P99Micros    float64  `json:"p99_us"`
	Runs         []Sample `json:"runs"`
}

// AppendLevel is one concurrency level of the Append benchmark.
type AppendLevel struct {
	Appenders int            `json:"appenders"`
	Systems   []SystemResult `json:"systems"` // in Systems order
	// VsRaw and VsNaive compare Statemgr's throughput with Raw's and
	// Naive's: the median over the rounds of the ratio within each round,
	// whose runs followed one another, so that a slow spell of the disk
	// weighs on both sides of a ratio.
	VsRaw   float64 `json:"statemgr_vs_raw"`
	VsNaive float64 `json:"statemgr_vs_naive"`
	// RoundsVsRaw and RoundsVsNaive are the ratios of each round.
	RoundsVsRaw   []float64 `json:"rounds_statemgr_vs_raw"`
	RoundsVsNaive []float64 `json:"rounds_statemgr_vs_naive"`
}

// System returns the level's result for sys.
func (l AppendLevel) System(sys System) SystemResult {
	for _, r := range l.Systems {
		if r.System == sys {
			return r
		}
	}
	return SystemResult{System: sys}
}

// AppendReport is the outcome of the Append benchmark.
type AppendReport struct {
	PayloadBytes int           `json:"payload_bytes"`
	RunSeconds   float64       `json:"run_seconds"`
	Repeat       int           `json:"repeat"`
	Levels       []AppendLevel `json:"levels"`
	Verdicts     []Verdict     `json:"verdicts,omitempty"`
}

// Verdict is one target and whether the run met it.
type Verdict struct {
	Target   string  `json:"target"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Met      bool    `json:"met"`
}

// RunAppend runs the Append benchmark: for each concurrency level, Repeat
// rounds of Raw, Naive and Statemgr, each on a fresh store in a new
// directory under cfg.Dir for cfg.Duration.
func RunAppend(ctx context.Context, cfg Config) (*AppendReport, error) {
	if err := cfg.validateAppend(); err != nil {
		return nil, err
	}
	rep := &AppendReport{PayloadBytes: len(cfg.Options.payload()), RunSeconds: cfg.Duration.Seconds(), Repeat: cfg.Repeat}
	for _, n := range cfg.Appenders {
		runs := make(map[System][]Sample)
		for r := range cfg.Repeat {
			for _, sys := range Systems {
				s, err := appendOnce(ctx, cfg, sys, n)
				if err != nil {
					return nil, fmt.Errorf("append benchmark, %s with %d appenders, round %d: %w", sys, n, r+1, err)
				}
				cfg.progress("append  %3d appenders  round %d/%d  %-8s %9.0f ev/s  p50 %8.0f µs  p99 %8.0f µs",
					n, r+1, cfg.Repeat, sys, s.EventsPerSec, s.P50Micros, s.P99Micros)
				runs[sys] = append(runs[sys], s)
			}
		}
		level := AppendLevel{Appenders: n}
		for _, sys := range Systems {
			level.Systems = append(level.Systems, summarize(sys, runs[sys]))
		}
		for r, ours := range runs[Statemgr] {
			level.RoundsVsRaw = append(level.RoundsVsRaw, ratio(ours.EventsPerSec, runs[Raw][r].EventsPerSec))
			level.RoundsVsNaive = append(level.RoundsVsNaive, ratio(ours.EventsPerSec, runs[Naive][r].EventsPerSec))
		}
		level.VsRaw, level.VsNaive = Median(level.RoundsVsRaw), Median(level.RoundsVsNaive)
		rep.Levels = append(rep.Levels, level)
		if n == TargetAppenders {
			rep.Verdicts = appendVerdicts(level)
		}
	}
	return rep, nil
}

func appendVerdicts(l AppendLevel) []Verdict {
	p99 := l.System(Statemgr).P99Micros
	at := fmt.Sprintf("at %d appenders", l.Appenders)
	return []Verdict{
		{Target: fmt.Sprintf("statemgr ≥ %.1f× raw %s", TargetVsRaw, at), Measured: l.VsRaw, Unit: "×", Met: l.VsRaw >= TargetVsRaw},
		{Target: fmt.Sprintf("statemgr ≥ %.0f× naive %s", TargetVsNaive, at), Measured: l.VsNaive, Unit: "×", Met: l.VsNaive >= TargetVsNaive},
		{Target: fmt.Sprintf("statemgr p99 ≤ %.0f ms %s", TargetP99Micros/1000, at), Measured: p99 / 1000, Unit: "ms", Met: p99 <= TargetP99Micros},
	}
}

func summarize(sys System, runs []Sample) SystemResult {
	var tput, p50, p99 []float64
	for _, s := range runs {
		tput = append(tput, s.EventsPerSec)
		p50 = append(p50, s.P50Micros)
		p99 = append(p99, s.P99Micros)
	}
	return SystemResult{System: sys, EventsPerSec: Median(tput), P50Micros: Median(p50), P99Micros: Median(p99), Runs: runs}
}

// appendOnce measures sys with n appenders on a fresh store.
func appendOnce(ctx context.Context, cfg Config, sys System, n int) (s Sample, err error) {
	dir, err := os.MkdirTemp(cfg.Dir, "logbench-append-")
	if err != nil {
		return Sample{}, fmt.Errorf("cannot create a directory under %s: %w", cfg.Dir, err)
	}
	defer removeDir(dir, &err)
	a, err := OpenAppender(sys, dir, cfg.Options)
	if err != nil {
		return Sample{}, err
	}
	s, err = Measure(ctx, a, n, Limit{Duration: cfg.Duration})
	if cerr := a.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return s, err
}

// removeDir removes dir and reports a failure into *err unless it already
// holds one.
func removeDir(dir string, err *error) {
	if rerr := os.RemoveAll(dir); rerr != nil && *err == nil {
		*err = fmt.Errorf("cannot remove benchmark directory: %w", rerr)
	}
}
