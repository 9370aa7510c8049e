package logbench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

// Recovery benchmark settings.
const (
	// SmallLogEvents is the length of the short log the Recovery benchmark
	// compares the long one with.
	SmallLogEvents = 10_000
	// RecoveryRounds is how many recoveries of each kind the median is
	// taken over; they are fast, and timed in microseconds.
	RecoveryRounds = 15
	// TargetGrowth is the most that recovery with snapshots may slow down
	// from the short log to the long one for "does not grow" to hold.
	TargetGrowth = 2.0
)

// Recovered is the outcome of one RecoverTarget.
type Recovered struct {
	Snapshot uint64 // stream seq of the snapshot used; 0 for a full replay
	Replayed int    // events applied after it
	State    TargetState
}

// RecoverTarget recovers TargetStream from l with snapshots.Recover: from
// its newest snapshot when withSnapshots, else by replaying all its events.
func RecoverTarget(ctx context.Context, l *badger.Log, withSnapshots bool) (Recovered, error) {
	var store snapshots.Store = memsnap.New()
	if withSnapshots {
		store = snapbadger.New(l.DB())
	}
	r, err := snapshots.Recover(ctx, store, l, TargetStream, targetReplayer)
	if err != nil {
		return Recovered{}, err
	}
	if len(r.Skipped) > 0 {
		return Recovered{}, fmt.Errorf("%w: recovery of %s skipped snapshots: %w", ErrCheck, TargetStream, errors.Join(r.Skipped...))
	}
	return Recovered{Snapshot: r.Snapshot, Replayed: r.Replayed, State: r.State}, nil
}

// RecoveryLog is the Recovery benchmark on one log.
type RecoveryLog struct {
	LogEvents  int     `json:"log_events"`
	OpenMillis float64 `json:"open_ms"`
	// SnapshotMicros is the median time of a recovery with snapshots;
	// FromSnapshot and Replayed say what it did.
	SnapshotMicros float64 `json:"snapshot_recovery_us"`
	FromSnapshot   uint64  `json:"from_snapshot_seq"`
	Replayed       int     `json:"replayed_after_snapshot"`
	// FullMicros is the median time of a full replay of the stream, without
	// snapshots, of FullReplayed events.
	FullMicros   float64 `json:"full_replay_us"`
	FullReplayed int     `json:"full_replayed"`
}

// RecoveryReport is the outcome of the Recovery benchmark.
type RecoveryReport struct {
	Stream       string        `json:"stream"`
	StreamEvents int           `json:"stream_events"`
	Policy       string        `json:"policy"`
	Rounds       int           `json:"rounds"`
	Logs         []RecoveryLog `json:"logs"` // short log first
	// Growth is the long log's snapshot recovery time over the short one's.
	Growth   float64   `json:"growth"`
	Verdicts []Verdict `json:"verdicts"`
}

// RunRecovery builds a log of SmallLogEvents events and compares recovering
// TargetStream from it with recovering it from the long log Build wrote in
// bigDir, RecoveryRounds times each, interleaved.
func RunRecovery(ctx context.Context, cfg Config, bigDir string, big BuildStats) (rep *RecoveryReport, err error) {
	if big.Events <= SmallLogEvents {
		return nil, fmt.Errorf("%w: the long log has %d events; the recovery comparison needs more than %d", ErrConfig, big.Events, SmallLogEvents)
	}
	smallDir, small, err := buildIn(ctx, cfg, SmallLogEvents)
	if err != nil {
		return nil, err
	}
	defer removeDir(smallDir, &err)

	type subject struct {
		built BuildStats
		log   *badger.Log
		res   RecoveryLog
		snap  []float64
		full  []float64
	}
	subjects := []*subject{{built: small}, {built: big}}
	for i, dir := range []string{smallDir, bigDir} {
		s := subjects[i]
		t0 := time.Now()
		if s.log, err = cfg.Options.openLog(dir); err != nil {
			return nil, err
		}
		s.res = RecoveryLog{LogEvents: s.built.Events, OpenMillis: float64(time.Since(t0)) / float64(time.Millisecond)}
		defer func() {
			if cerr := s.log.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
	}
	for range RecoveryRounds {
		for _, s := range subjects {
			for _, withSnapshots := range []bool{true, false} {
				t0 := time.Now()
				r, err := RecoverTarget(ctx, s.log, withSnapshots)
				d := time.Since(t0)
				if err != nil {
					return nil, fmt.Errorf("recovery benchmark, log of %d events: %w", s.built.Events, err)
				}
				if r.State != s.built.Target {
					return nil, fmt.Errorf("%w: recovered %s at %d (sum %08x), built it at %d (sum %08x)", ErrCheck, TargetStream, r.State.Count, r.State.Sum, s.built.Target.Count, s.built.Target.Sum)
				}
				if withSnapshots {
					s.snap = append(s.snap, micros(d))
					s.res.FromSnapshot, s.res.Replayed = r.Snapshot, r.Replayed
				} else {
					s.full = append(s.full, micros(d))
					s.res.FullReplayed = r.Replayed
				}
			}
		}
	}
	rep = &RecoveryReport{
		Stream:       TargetStream,
		StreamEvents: TargetEvents,
		Policy:       fmt.Sprintf("snapshot every %d events, keep %d", TargetPolicy.EveryEvents, TargetPolicy.Keep),
		Rounds:       RecoveryRounds,
	}
	for _, s := range subjects {
		s.res.SnapshotMicros, s.res.FullMicros = Median(s.snap), Median(s.full)
		rep.Logs = append(rep.Logs, s.res)
		cfg.progress("recover %s from a log of %d events: %.0f µs with snapshots (from %d, %d replayed), %.0f µs full replay",
			TargetStream, s.res.LogEvents, s.res.SnapshotMicros, s.res.FromSnapshot, s.res.Replayed, s.res.FullMicros)
	}
	rep.Growth = ratio(rep.Logs[1].SnapshotMicros, rep.Logs[0].SnapshotMicros)
	rep.Verdicts = []Verdict{{
		Target:   fmt.Sprintf("recovery with snapshots, log of %d vs %d events, ≤ %.0f×", big.Events, SmallLogEvents, TargetGrowth),
		Measured: rep.Growth,
		Unit:     "×",
		Met:      rep.Growth <= TargetGrowth,
	}}
	return rep, nil
}
