package logbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
	"time"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
)

// Shape of the logs Build writes.
const (
	// TargetStream is the stream the Recovery benchmark recovers.
	TargetStream = "host.recover"
	// TargetEvents is the length of TargetStream's history: ten snapshots
	// and 50 events after the last one.
	TargetEvents = 1050
	// EventsPerStream is the length of every other stream; a log of M
	// events has about M/100 streams.
	EventsPerStream = 100
	// targetBatch is how many events of TargetStream one append carries.
	targetBatch = 10
	// buildWorkers is how many goroutines append the other streams.
	buildWorkers = 32
)

// TargetPolicy is the snapshot policy of TargetStream.
var TargetPolicy = snapshots.Policy{EveryEvents: 100, Keep: 3}

// BuildStats describes a log written by Build.
type BuildStats struct {
	Events  int     `json:"events"`
	Streams int     `json:"streams"`
	Seconds float64 `json:"build_seconds"`
	// Target is TargetStream's state as built, for checking recoveries.
	Target TargetState `json:"-"`
}

// Build writes a log of total events into the empty directory dir and
// closes it: TargetStream's TargetEvents events, appended 10 at a time with
// a snapshot whenever TargetPolicy is due, interleaved with the other
// streams host.<i>, each appended as one batch of EventsPerStream events
// (the last one shorter) from buildWorkers goroutines; then it compacts the
// LSM tree into one level (see settle). Only the whole build is timed.
func Build(ctx context.Context, dir string, opts Options, total int) (BuildStats, error) {
	if total < TargetEvents {
		return BuildStats{}, fmt.Errorf("%w: a log of %d events cannot hold the %d events of %s", ErrConfig, total, TargetEvents, TargetStream)
	}
	t0 := time.Now()
	l, err := opts.openLog(dir)
	if err != nil {
		return BuildStats{}, err
	}
	payload := opts.payload()
	noise := total - TargetEvents
	streams := (noise + EventsPerStream - 1) / EventsPerStream

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		target   TargetState
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	jobs := make(chan int)
	for range buildWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				n := min(EventsPerStream, noise-i*EventsPerStream)
				batch := make([]events.Event, n)
				for j := range batch {
					batch[j] = benchEvent(payload)
				}
				if _, _, err := l.Append(ctx, streamName(i), events.AnyVersion(), batch); err != nil {
					fail(fmt.Errorf("cannot append %d events to %s: %w", n, streamName(i), err))
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		if target, err = buildTarget(ctx, l, payload); err != nil {
			fail(err)
		}
	}()
feed:
	for i := range streams {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	cerr := l.Close()
	switch {
	case firstErr != nil:
		return BuildStats{}, fmt.Errorf("cannot build a log of %d events: %w", total, firstErr)
	case cerr != nil:
		return BuildStats{}, cerr
	}
	if err := settle(dir, opts); err != nil {
		return BuildStats{}, err
	}
	return BuildStats{Events: total, Streams: streams + 1, Seconds: time.Since(t0).Seconds(), Target: target}, nil
}

// settle reopens the log in dir (its memtables were flushed at Close) and
// compacts its LSM tree into one level, so that the compactions the build
// left pending do not run during, and slow, the measurements that follow:
// they would measure how busy the compactor is, not the replay.
func settle(dir string, opts Options) (err error) {
	l, err := opts.openLog(dir)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := l.DB().Flatten(2); err != nil {
		return fmt.Errorf("cannot compact the built log: %w", err)
	}
	return nil
}

// buildTarget appends TargetStream's history and its snapshots, and returns
// its final state.
func buildTarget(ctx context.Context, l *badger.Log, payload []byte) (TargetState, error) {
	store := snapbadger.New(l.DB())
	var state TargetState
	var last snapshots.Snapshot
	for state.Count < TargetEvents {
		batch := make([]events.Event, targetBatch)
		for i := range batch {
			batch[i] = benchEvent(payload)
		}
		stored, _, err := l.Append(ctx, TargetStream, events.ExpectVersion(state.Count), batch)
		if err != nil {
			return state, fmt.Errorf("cannot append to %s at %d: %w", TargetStream, state.Count, err)
		}
		for _, e := range stored {
			if state, err = applyTarget(state, e); err != nil {
				return state, err
			}
		}
		now := time.Now()
		if TargetPolicy.Due(last.Seq, last.Time, state.Count, now) {
			last = snapshots.Snapshot{Stream: TargetStream, Seq: state.Count, Schema: targetSchema, Time: now, State: state.encode()}
			if err := store.Save(ctx, last, TargetPolicy.Keep); err != nil {
				return state, err
			}
		}
	}
	return state, nil
}

// TargetState is the state the Recovery benchmark rebuilds: how many events
// the stream has and a checksum over their payloads, so that a recovery
// that skipped, repeated or reordered an event is caught.
type TargetState struct {
	Count uint64
	Sum   uint32
}

const targetSchema = 1

func (s TargetState) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, s.Count)
	return binary.BigEndian.AppendUint32(b, s.Sum)
}

func applyTarget(s TargetState, e events.Event) (TargetState, error) {
	if e.StreamSeq != s.Count+1 {
		return s, fmt.Errorf("%w: %s event %d follows state at %d", ErrCheck, e.Stream, e.StreamSeq, s.Count)
	}
	s.Count++
	s.Sum = crc32.Update(s.Sum^uint32(s.Count), castagnoli, e.Payload)
	return s, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// targetReplayer rebuilds TargetState for snapshots.Recover.
var targetReplayer = snapshots.Replayer[TargetState]{
	Empty: func() TargetState { return TargetState{} },
	Decode: func(s snapshots.Snapshot) (TargetState, error) {
		if s.Schema != targetSchema {
			return TargetState{}, fmt.Errorf("%w: state schema %d, this build reads %d", snapshots.ErrUnknownVersion, s.Schema, targetSchema)
		}
		if len(s.State) != 12 {
			return TargetState{}, fmt.Errorf("%w: state of %d bytes, want 12", snapshots.ErrCorrupt, len(s.State))
		}
		return TargetState{Count: binary.BigEndian.Uint64(s.State), Sum: binary.BigEndian.Uint32(s.State[8:])}, nil
	},
	Apply: applyTarget,
}
