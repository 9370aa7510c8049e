package events

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Errors of the events package. Implementations wrap them with context; test
// with errors.Is.
var (
	// ErrInvalid means the caller passed something the log cannot store
	// (an empty batch, a bad stream id, a missing type).
	ErrInvalid = errors.New("invalid append")
	// ErrCorrupt means a stored record failed its checksum or is truncated.
	ErrCorrupt = errors.New("corrupt event record")
	// ErrUnknownVersion means a record was written by a newer codec than
	// this build understands. Upgrade statemgr; never skip the record.
	ErrUnknownVersion = errors.New("unknown event codec version")
	// ErrNoSpace means the disk is full; the append was not acknowledged.
	ErrNoSpace = errors.New("no space left on the event log's device")
	// ErrSyncFailed means an fsync failed; the append was not acknowledged.
	ErrSyncFailed = errors.New("event log sync failed")
	// ErrLogFailed means an earlier I/O failure left the log in an unknown
	// state; it refuses appends until it is reopened (and recovered).
	ErrLogFailed = errors.New("the event log refuses appends until it is reopened")
	// ErrClosed means the log was closed (or crashed, for the in-memory twin).
	ErrClosed = errors.New("event log is closed")
	// ErrBatchTooLarge means one batch does not fit in one transaction.
	ErrBatchTooLarge = errors.New("event batch too large for one transaction")
	// ErrIdempotencyConflict means some but not all events of a batch carry
	// idempotency keys already stored, or a key is reused for other content.
	ErrIdempotencyConflict = errors.New("idempotency key reused for a different append")
	// ErrDamaged means the log's files are damaged so that acknowledged
	// records may be missing; the log refused to open. See DamageError.
	ErrDamaged = errors.New("event log is damaged")
)

// SeqRange is an inclusive range of global sequences.
type SeqRange struct{ From, To uint64 }

func (r SeqRange) String() string {
	if r.From == r.To {
		return fmt.Sprint(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// Len is the number of sequences in r.
func (r SeqRange) Len() uint64 { return r.To - r.From + 1 }

// DamageError is the report of a log that refused to open because its files
// are damaged: what is damaged, which acknowledged global sequences are
// missing or unreadable when that is known, and what to do. It wraps
// ErrDamaged.
type DamageError struct {
	Dir      string
	Problems []string   // one line per damaged file or structure
	Missing  []SeqRange // global sequences known lost, in order; empty if unknown
}

func (e *DamageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v in %s: %s", ErrDamaged, e.Dir, strings.Join(e.Problems, "; "))
	if len(e.Missing) > 0 {
		var n uint64
		parts := make([]string, len(e.Missing))
		for i, r := range e.Missing {
			parts[i], n = r.String(), n+r.Len()
		}
		fmt.Fprintf(&b, "; %d acknowledged records are missing or unreadable (global sequences %s)", n, strings.Join(parts, ", "))
	}
	b.WriteString(". The log was not started: restore the data directory from a backup," +
		" or run statemgrd --salvage (with the daemon stopped) to rebuild the log from every record that verifies, recording the loss as events, then start statemgrd")
	return b.String()
}

func (e *DamageError) Unwrap() error { return ErrDamaged }

// VersionError is returned when an append's expected version does not match
// the stream's head. Nothing was written; reread the stream and retry.
type VersionError struct {
	Stream   string
	Expected Expected
	Actual   uint64
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("stream %q is at version %d, append expected %s: reread the stream and retry", e.Stream, e.Actual, e.Expected)
}

// RecordError locates bad data: which record could not be decoded and why.
// Err wraps ErrCorrupt or ErrUnknownVersion.
type RecordError struct {
	GlobalSeq uint64 // 0 when unknown
	Stream    string // empty when unknown
	StreamSeq uint64 // 0 when unknown
	Err       error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("event record global=%d stream=%q seq=%d: %v", e.GlobalSeq, e.Stream, e.StreamSeq, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// ClassifyIOError maps an operating-system error from a write or sync to the
// package's sentinels, keeping the original in the chain: ENOSPC and EDQUOT
// become ErrNoSpace, anything else ErrSyncFailed.
func ClassifyIOError(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("cannot %s: %w: %w", op, ErrNoSpace, err)
	}
	return fmt.Errorf("cannot %s: %w: %w", op, ErrSyncFailed, err)
}
