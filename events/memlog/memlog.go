package memlog

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/statemgr/statemgr/events"
)

// Fault is a failure the log can be told to produce on an append.
type Fault int

// Injectable faults.
const (
	// NoSpace fails an append as a full disk does (ENOSPC).
	NoSpace Fault = iota + 1
	// SyncFailure fails an append as a failed fsync does (EIO).
	SyncFailure
	// CrashBeforeAck crashes the log after the batch is staged but before
	// it is acknowledged: the append fails and the batch is lost.
	CrashBeforeAck
)

var _ events.Log = (*Log)(nil)

// Store is the durable part of an in-memory log: what survives a Crash. One
// Store is shared by a log and the logs reopened from it.
type Store struct {
	mu      sync.Mutex
	records [][]byte                     // encoded events by global seq - 1
	streams map[string][]uint64          // stream -> global seqs, by stream seq - 1
	keys    map[string]map[string]uint64 // stream -> idempotency key -> stream seq
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{streams: make(map[string][]uint64), keys: make(map[string]map[string]uint64)}
}

// Log is an in-memory events.Log over a Store.
type Log struct {
	store    *Store
	notifier events.Notifier

	mu     sync.Mutex // guards the fields below; taken before store.mu
	closed bool
	failed error   // set by an I/O fault: appends refused until reopened
	faults []Fault // injected, consumed one per append
}

// New returns an empty log.
func New() *Log { return Open(NewStore()) }

// Open returns a log over store, as reopening a data directory does.
func Open(store *Store) *Log { return &Log{store: store} }

// Store returns the log's durable part, for Reopen after a Crash.
func (l *Log) Store() *Store { return l.store }

// Reopen closes l if needed and returns a new log over the same store.
func (l *Log) Reopen() *Log {
	_ = l.Close()
	return Open(l.store)
}

// Inject queues faults; each later append consumes one.
func (l *Log) Inject(faults ...Fault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, faults...)
}

// Crash stops the log as a kill -9 would: appends not yet acknowledged are
// lost, and every later call fails with events.ErrClosed.
func (l *Log) Crash() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.notifier.Notify()
}

// Close closes the log.
func (l *Log) Close() error {
	l.Crash()
	return nil
}

var _ events.AppendChecker = (*Log)(nil)

// CanAppend implements events.AppendChecker.
func (l *Log) CanAppend() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	if l.failed != nil {
		return fmt.Errorf("%w: %w", events.ErrLogFailed, l.failed)
	}
	return nil
}

func (l *Log) usable() error {
	if l.closed {
		return events.ErrClosed
	}
	return nil
}

// Append implements events.Log.
func (l *Log) Append(ctx context.Context, stream string, expected events.Expected, batch []events.Event) ([]events.Event, bool, error) {
	if err := events.ValidateBatch(stream, batch); err != nil {
		return nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return nil, false, err
	}
	if l.failed != nil {
		return nil, false, fmt.Errorf("%w: %w", events.ErrLogFailed, l.failed)
	}
	s := l.store
	s.mu.Lock()
	defer s.mu.Unlock()

	if stored, dup, err := s.duplicate(stream, batch); dup || err != nil {
		return stored, dup, err
	}
	head := uint64(len(s.streams[stream]))
	if !expected.Matches(head) {
		return nil, false, &events.VersionError{Stream: stream, Expected: expected, Actual: head}
	}
	if len(l.faults) > 0 {
		fault := l.faults[0]
		l.faults = l.faults[1:]
		switch fault {
		case NoSpace:
			l.failed = events.ClassifyIOError("append to the in-memory log", syscall.ENOSPC)
			return nil, false, fmt.Errorf("%w (%w)", l.failed, events.ErrLogFailed)
		case SyncFailure:
			l.failed = events.ClassifyIOError("sync the in-memory log", syscall.EIO)
			return nil, false, fmt.Errorf("%w (%w)", l.failed, events.ErrLogFailed)
		case CrashBeforeAck:
			l.closed = true
			return nil, false, fmt.Errorf("cannot append to %q: %w (crashed before the append was acknowledged)", stream, events.ErrClosed)
		}
	}
	out := make([]events.Event, len(batch))
	global := uint64(len(s.records))
	for i, e := range batch {
		e = events.AsStored(e)
		e.Stream = stream
		e.StreamSeq = head + uint64(i) + 1
		e.GlobalSeq = global + uint64(i) + 1
		s.records = append(s.records, events.Encode(nil, e))
		s.streams[stream] = append(s.streams[stream], e.GlobalSeq)
		if e.IdempotencyKey != "" {
			if s.keys[stream] == nil {
				s.keys[stream] = make(map[string]uint64)
			}
			s.keys[stream][e.IdempotencyKey] = e.StreamSeq
		}
		out[i] = e
	}
	defer l.notifier.Committed(slices.Clone(out)) // the caller may change out
	return out, false, nil
}

// duplicate applies the idempotency rule: if every event of batch carries a
// key already stored in stream, the stored events are returned; if only some
// do, that is a conflict. The caller holds s.mu.
func (s *Store) duplicate(stream string, batch []events.Event) ([]events.Event, bool, error) {
	keys := s.keys[stream]
	seen := 0
	for _, e := range batch {
		if _, ok := keys[e.IdempotencyKey]; ok && e.IdempotencyKey != "" {
			seen++
		}
	}
	switch {
	case seen == 0:
		return nil, false, nil
	case seen < len(batch):
		return nil, false, fmt.Errorf("%w: %d of %d events of the batch for %q were stored before", events.ErrIdempotencyConflict, seen, len(batch), stream)
	}
	out := make([]events.Event, len(batch))
	for i, e := range batch {
		stored, err := s.decode(s.streams[stream][keys[e.IdempotencyKey]-1])
		if err != nil {
			return nil, false, err
		}
		out[i] = stored
	}
	return out, true, nil
}

// decode returns the event at global seq g. The caller holds s.mu.
func (s *Store) decode(g uint64) (events.Event, error) {
	e, err := events.Decode(s.records[g-1])
	if err != nil {
		return events.Event{}, &events.RecordError{GlobalSeq: g, Err: err}
	}
	if e.GlobalSeq != g {
		return events.Event{}, &events.RecordError{GlobalSeq: g, Stream: e.Stream, StreamSeq: e.StreamSeq,
			Err: fmt.Errorf("%w: record claims global sequence %d", events.ErrCorrupt, e.GlobalSeq)}
	}
	return e, nil
}

// ReadStream implements events.Log.
func (l *Log) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]events.Event, error) {
	if err := events.ValidateStream(stream); err != nil {
		return nil, err
	}
	return l.read(ctx, stream, from, limit)
}

// ReadAll implements events.Log.
func (l *Log) ReadAll(ctx context.Context, from uint64, limit int) ([]events.Event, error) {
	return l.read(ctx, "", from, limit)
}

// read pages through stream (or, for "", the whole log) from position from.
func (l *Log) read(ctx context.Context, stream string, from uint64, limit int) ([]events.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	err := l.usable()
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s := l.store
	s.mu.Lock()
	defer s.mu.Unlock()
	seqs := s.streams[stream]
	n := uint64(len(seqs))
	if stream == "" {
		n = uint64(len(s.records))
	}
	if from == 0 {
		from = 1
	}
	var out []events.Event
	for p := from; p <= n && (limit <= 0 || len(out) < limit); p++ {
		g := p
		if stream != "" {
			g = seqs[p-1]
		}
		e, err := s.decode(g)
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Head implements events.Log.
func (l *Log) Head(ctx context.Context) (uint64, error) {
	return l.count(ctx, func(s *Store) int { return len(s.records) })
}

// StreamHead implements events.Log.
func (l *Log) StreamHead(ctx context.Context, stream string) (uint64, error) {
	if err := events.ValidateStream(stream); err != nil {
		return 0, err
	}
	return l.count(ctx, func(s *Store) int { return len(s.streams[stream]) })
}

func (l *Log) count(ctx context.Context, n func(*Store) int) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	err := l.usable()
	l.mu.Unlock()
	if err != nil {
		return 0, err
	}
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	return uint64(n(l.store)), nil
}

// Subscribe implements events.Log.
func (l *Log) Subscribe(ctx context.Context, from uint64) (*events.Subscription, error) {
	l.mu.Lock()
	err := l.usable()
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return events.Follow(ctx, l.ReadAll, &l.notifier, from), nil
}

// Corrupt flips a byte in the middle of the record at global seq g.
func (s *Store) Corrupt(g uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := append([]byte(nil), s.records[g-1]...)
	rec[len(rec)/2] ^= 0x5a
	s.records[g-1] = rec
}

// Truncate cuts the record at global seq g to n bytes, as a torn write would.
func (s *Store) Truncate(g uint64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[g-1] = append([]byte(nil), s.records[g-1][:n]...)
}

// Rewrite replaces the record at global seq g with raw bytes, for tests of
// records from other codec versions.
func (s *Store) Rewrite(g uint64, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[g-1] = append([]byte(nil), raw...)
}
