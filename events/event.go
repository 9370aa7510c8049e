package events

import (
	"fmt"
	"strings"
	"time"
)

// Event is the envelope of one entry of the log. The log assigns GlobalSeq
// and StreamSeq; everything else is the appender's.
type Event struct {
	GlobalSeq      uint64    // position in the whole log, from 1, gapless
	Stream         string    // the stream the event belongs to, e.g. "host.0"
	StreamSeq      uint64    // position in its stream, from 1, gapless
	Type           string    // what happened, e.g. "transition"
	Schema         uint16    // version of the Payload's schema, from 1
	Time           time.Time // when it happened, from the appender's clock
	Cause          string    // why it happened, e.g. "request", "power good lost"
	Requester      string    // who asked, e.g. "operator:alice"; empty for the system
	Operation      string    // operation or correlation id tying events together
	IdempotencyKey string    // dedupe key within the stream; empty for none
	Payload        []byte    // type-specific body, opaque to the log
}

// RestoreStream is the stream a restore of a checkpoint writes into the
// restored log (events/badger's Restore): EventSkippedByRestore at each
// sequence the checkpoint does not hold and the replaced log had used,
// then one EventLogRestored. Whoever acts on the log's history at start
// (the coordinator) reads it to know a restore happened.
const RestoreStream = "restore"

// Event types of RestoreStream.
const (
	EventSkippedByRestore = "skipped_by_restore"
	EventLogRestored      = "log_restored"
)

// MaxStreamLen is the longest stream id the log accepts.
const MaxStreamLen = 200

// MaxKeyLen is the longest idempotency key the log accepts.
const MaxKeyLen = 200

// ValidateStream reports whether id is usable as a stream id: 1 to
// MaxStreamLen bytes of printable ASCII without spaces. Stream ids become
// parts of storage keys, so a NUL or a wildcard would break the ordering.
func ValidateStream(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty stream id", ErrInvalid)
	}
	if len(id) > MaxStreamLen {
		return fmt.Errorf("%w: stream id %.20q... is %d bytes, the limit is %d", ErrInvalid, id, len(id), MaxStreamLen)
	}
	if i := strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' || r == '*' || r == '>' }); i >= 0 {
		return fmt.Errorf("%w: stream id %q has a forbidden character at byte %d (use printable ASCII without spaces or wildcards)", ErrInvalid, id, i)
	}
	return nil
}

// ValidateBatch checks a batch before it is appended to stream: a valid
// stream id, at least one event, a Type and a Schema on each, and keys within
// limits. Appenders leave Stream empty or equal to stream; the log sets it.
func ValidateBatch(stream string, batch []Event) error {
	if err := ValidateStream(stream); err != nil {
		return err
	}
	if len(batch) == 0 {
		return fmt.Errorf("%w: empty batch for stream %q", ErrInvalid, stream)
	}
	keys := make(map[string]bool)
	for i, e := range batch {
		switch {
		case e.Stream != "" && e.Stream != stream:
			return fmt.Errorf("%w: event %d names stream %q in a batch for %q", ErrInvalid, i, e.Stream, stream)
		case e.Type == "":
			return fmt.Errorf("%w: event %d of stream %q has no type", ErrInvalid, i, stream)
		case e.Schema == 0:
			return fmt.Errorf("%w: event %d (%s) of stream %q has schema 0; schemas start at 1", ErrInvalid, i, e.Type, stream)
		case len(e.IdempotencyKey) > MaxKeyLen:
			return fmt.Errorf("%w: event %d of stream %q has an idempotency key of %d bytes, the limit is %d", ErrInvalid, i, stream, len(e.IdempotencyKey), MaxKeyLen)
		case e.IdempotencyKey != "" && keys[e.IdempotencyKey]:
			return fmt.Errorf("%w: idempotency key %q appears twice in one batch for %q", ErrInvalid, e.IdempotencyKey, stream)
		}
		if e.IdempotencyKey != "" {
			keys[e.IdempotencyKey] = true
		}
	}
	return nil
}

// Expected is the stream version an append expects to find, for optimistic
// concurrency. Build it with AnyVersion, NoStream or ExpectVersion.
type Expected struct {
	any     bool
	version uint64
}

// AnyVersion appends whatever the stream's head is.
func AnyVersion() Expected { return Expected{any: true} }

// NoStream appends only if the stream has no event yet.
func NoStream() Expected { return Expected{} }

// ExpectVersion appends only if the stream's head is exactly v (0 = empty).
func ExpectVersion(v uint64) Expected { return Expected{version: v} }

// Matches reports whether a stream whose head is head satisfies e.
func (e Expected) Matches(head uint64) bool { return e.any || e.version == head }

// String renders e for error messages.
func (e Expected) String() string {
	if e.any {
		return "any"
	}
	return fmt.Sprint(e.version)
}
