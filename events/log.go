package events

import "context"

// Log is the append-only event log. Implementations: events/badger (durable)
// and events/memlog (in-memory twin). All methods are safe for concurrent use.
type Log interface {
	// Append stores batch at the end of stream if the stream's head matches
	// expected, atomically, and returns the events as stored (with Stream,
	// StreamSeq and GlobalSeq set). If every event of the batch carries an
	// idempotency key already stored in the stream, nothing is written and
	// the stored events are returned with duplicate set.
	Append(ctx context.Context, stream string, expected Expected, batch []Event) (stored []Event, duplicate bool, err error)
	// ReadStream returns up to limit events of stream from stream sequence
	// from (inclusive). limit <= 0 means no limit.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]Event, error)
	// ReadAll returns up to limit events of the whole log from global
	// sequence from (inclusive). limit <= 0 means no limit.
	ReadAll(ctx context.Context, from uint64, limit int) ([]Event, error)
	// Head returns the global sequence of the last stored event (0 if none).
	Head(ctx context.Context) (uint64, error)
	// StreamHead returns the stream sequence of stream's last event (0 if none).
	StreamHead(ctx context.Context, stream string) (uint64, error)
	// Subscribe replays the log from global sequence from and then follows
	// it live, with no gap and no duplicate. See Subscription.
	Subscribe(ctx context.Context, from uint64) (*Subscription, error)
	// Close releases the log. Appends in flight finish or fail first.
	Close() error
}

// AppendChecker is implemented by logs that can tell, without writing,
// whether an append would be refused now: nil, ErrClosed, ErrLogFailed
// (refused until reopened) or ErrNoSpace (refused until space is freed;
// appends then resume by themselves). Health checks use it.
type AppendChecker interface {
	CanAppend() error
}
