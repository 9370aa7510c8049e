package logbench

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
)

// ReplayPage is the page size of the ReadAll replay.
const ReplayPage = 4096

// TargetReplayPerSec is the ScanAll replay target.
const TargetReplayPerSec = 1e6

// ReplayFigure is one way of replaying the whole log: medians and every run.
type ReplayFigure struct {
	EventsPerSec float64   `json:"events_per_sec"`
	Seconds      float64   `json:"seconds"`
	Runs         []float64 `json:"run_seconds"`
}

// ReplayReport is the outcome of the Replay benchmark.
type ReplayReport struct {
	Build      BuildStats   `json:"build"`
	OpenMillis float64      `json:"open_ms"`
	ScanAll    ReplayFigure `json:"scan_all"`
	ReadAll    ReplayFigure `json:"read_all"`
	PageSize   int          `json:"read_all_page"`
	Verdicts   []Verdict    `json:"verdicts"`
}

// Scan replays the whole log with ScanAll, decoding every event, and
// returns how many it saw.
func Scan(ctx context.Context, l *badger.Log) (int, error) {
	n := 0
	err := l.ScanAll(ctx, 1, func(events.Event) error {
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("cannot replay the log with ScanAll: %w", err)
	}
	return n, nil
}

// ReadPages replays the whole log with ReadAll, page events at a time, and
// returns how many it saw.
func ReadPages(ctx context.Context, l *badger.Log, page int) (int, error) {
	n := 0
	for from := uint64(1); ; {
		evs, err := l.ReadAll(ctx, from, page)
		if err != nil {
			return n, fmt.Errorf("cannot replay the log with ReadAll from %d: %w", from, err)
		}
		n += len(evs)
		if len(evs) < page {
			return n, nil
		}
		from = evs[len(evs)-1].GlobalSeq + 1
	}
}

// RunReplay measures full replays of the log Build wrote in dir: Repeat
// rounds of ScanAll then ReadAll paging, on one open log.
func RunReplay(ctx context.Context, cfg Config, dir string, built BuildStats) (rep *ReplayReport, err error) {
	if cfg.Repeat < 1 {
		return nil, fmt.Errorf("%w: %d repetitions; pass at least 1", ErrConfig, cfg.Repeat)
	}
	t0 := time.Now()
	l, err := cfg.Options.openLog(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	rep = &ReplayReport{Build: built, OpenMillis: float64(time.Since(t0)) / float64(time.Millisecond), PageSize: ReplayPage}
	var scan, read []float64
	for r := range cfg.Repeat {
		for _, way := range []struct {
			name string
			run  func() (int, error)
			secs *[]float64
		}{
			{"ScanAll", func() (int, error) { return Scan(ctx, l) }, &scan},
			{"ReadAll", func() (int, error) { return ReadPages(ctx, l, ReplayPage) }, &read},
		} {
			t0 := time.Now()
			n, err := way.run()
			d := time.Since(t0)
			if err != nil {
				return nil, err
			}
			if n != built.Events {
				return nil, fmt.Errorf("%w: %s replayed %d events of a log of %d", ErrCheck, way.name, n, built.Events)
			}
			*way.secs = append(*way.secs, d.Seconds())
			cfg.progress("replay  %d events  round %d/%d  %-7s %6.2f s  %9.0f ev/s", n, r+1, cfg.Repeat, way.name, d.Seconds(), float64(n)/d.Seconds())
		}
	}
	rep.ScanAll = replayFigure(built.Events, scan)
	rep.ReadAll = replayFigure(built.Events, read)
	rep.Verdicts = []Verdict{{
		Target:   "ScanAll replay ≥ 1M events/s",
		Measured: rep.ScanAll.EventsPerSec / 1e6,
		Unit:     "M events/s",
		Met:      rep.ScanAll.EventsPerSec >= TargetReplayPerSec,
	}}
	return rep, nil
}

func replayFigure(n int, secs []float64) ReplayFigure {
	m := Median(secs)
	return ReplayFigure{EventsPerSec: ratio(float64(n), m), Seconds: m, Runs: secs}
}

// buildIn creates a directory under cfg.Dir and builds a log of total
// events in it. The caller removes the directory.
func buildIn(ctx context.Context, cfg Config, total int) (string, BuildStats, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "logbench-log-")
	if err != nil {
		return "", BuildStats{}, fmt.Errorf("cannot create a directory under %s: %w", cfg.Dir, err)
	}
	cfg.progress("build   %d events ...", total)
	b, err := Build(ctx, dir, cfg.Options, total)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", BuildStats{}, err
	}
	cfg.progress("build   %d events in %d streams: %.1f s", b.Events, b.Streams, b.Seconds)
	return dir, b, nil
}
