package snapshots

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/statemgr/statemgr/events"
)

// Snapshot is a stream's state as of stream sequence Seq.
type Snapshot struct {
	Stream string
	Seq    uint64    // stream sequence of the last event the state includes
	Schema uint16    // version of State's encoding, from 1
	Time   time.Time // when it was taken, from the snapshotter's clock
	State  []byte
}

// Store keeps snapshots. All methods are safe for concurrent use.
type Store interface {
	// Save stores s and then removes all but the newest keep snapshots of
	// its stream (keep <= 0 keeps all).
	Save(ctx context.Context, s Snapshot, keep int) error
	// List returns the stream's snapshot records, newest first. A record
	// that cannot be decoded is returned as a *DecodeError in errs at its
	// position, so callers can report it and go on.
	List(ctx context.Context, stream string) (snaps []Snapshot, errs []error, err error)
}

// Errors of the snapshots package.
var (
	// ErrCorrupt means a stored snapshot failed its checksum or is truncated.
	ErrCorrupt = errors.New("corrupt snapshot record")
	// ErrUnknownVersion means a snapshot record or state schema is newer
	// than this build reads.
	ErrUnknownVersion = errors.New("unknown snapshot version")
	// ErrAhead means a snapshot claims a sequence past the stream's head.
	ErrAhead = errors.New("snapshot is ahead of its stream")
)

// DecodeError says which snapshot could not be used and why.
type DecodeError struct {
	Stream string
	Seq    uint64 // 0 when the record is too damaged to tell
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("snapshot of %q at %d: %v", e.Stream, e.Seq, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// recordVersion is the snapshot record format Encode writes.
const recordVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns s's record: version byte, seq, schema, time (unix nanos),
// stream and state (length-prefixed), then a CRC-32C of all of it.
func Encode(s Snapshot) []byte {
	b := []byte{recordVersion}
	b = binary.AppendUvarint(b, s.Seq)
	b = binary.AppendUvarint(b, uint64(s.Schema))
	b = binary.AppendVarint(b, s.Time.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(s.Stream)))
	b = append(b, s.Stream...)
	b = binary.AppendUvarint(b, uint64(len(s.State)))
	b = append(b, s.State...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// Decode parses a record written by Encode.
func Decode(rec []byte) (Snapshot, error) {
	if len(rec) < 5 {
		return Snapshot{}, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(rec))
	}
	body := rec[:len(rec)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(rec[len(rec)-4:]) {
		if body[0] > recordVersion {
			return Snapshot{}, fmt.Errorf("%w: record version %d, this build reads %d", ErrUnknownVersion, body[0], recordVersion)
		}
		return Snapshot{}, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if body[0] != recordVersion {
		return Snapshot{}, fmt.Errorf("%w: record version %d, this build reads %d", ErrUnknownVersion, body[0], recordVersion)
	}
	b := body[1:]
	var s Snapshot
	var bad bool
	uvarint := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	field := func() []byte {
		n := uvarint()
		if bad || n > uint64(len(b)) {
			bad = true
			return nil
		}
		f := append([]byte(nil), b[:n]...)
		b = b[n:]
		return f
	}
	s.Seq = uvarint()
	schema := uvarint()
	nanos, n := binary.Varint(b)
	if n <= 0 {
		return Snapshot{}, fmt.Errorf("%w: bad time field", ErrCorrupt)
	}
	b = b[n:]
	s.Stream = string(field())
	s.State = field()
	if bad || len(b) != 0 || schema > 0xffff {
		return Snapshot{}, fmt.Errorf("%w: malformed fields", ErrCorrupt)
	}
	s.Schema = uint16(schema)
	s.Time = time.Unix(0, nanos).UTC()
	return s, nil
}

// Policy says when to take snapshots and how many to keep.
type Policy struct {
	EveryEvents uint64        // snapshot after this many events since the last; 0 = never by count
	Every       time.Duration // snapshot when the last is this old and events followed it; 0 = never by age
	Keep        int           // snapshots kept per stream; 0 keeps all
}

// DefaultPolicy snapshots every 100 events or every 10 minutes and keeps 3.
var DefaultPolicy = Policy{EveryEvents: 100, Every: 10 * time.Minute, Keep: 3}

// Due reports whether a stream at head, whose last snapshot covered lastSeq
// and was taken at lastTime, should be snapshotted now.
func (p Policy) Due(lastSeq uint64, lastTime time.Time, head uint64, now time.Time) bool {
	if head <= lastSeq {
		return false
	}
	if p.EveryEvents > 0 && head-lastSeq >= p.EveryEvents {
		return true
	}
	return p.Every > 0 && !now.Before(lastTime.Add(p.Every))
}

// Replayer rebuilds a stream's state of type S.
type Replayer[S any] struct {
	// Empty returns the state of a stream with no events.
	Empty func() S
	// Decode rebuilds state from a snapshot; it must refuse a Schema it does
	// not know (wrap ErrUnknownVersion).
	Decode func(s Snapshot) (S, error)
	// Apply folds one event into state.
	Apply func(state S, e events.Event) (S, error)
}

// Recovered is the outcome of Recover.
type Recovered[S any] struct {
	State    S
	Seq      uint64 // stream sequence the state includes
	Snapshot uint64 // seq of the snapshot used; 0 for a full replay
	Replayed int    // events applied after the snapshot
	Skipped  []error
}

// Recover rebuilds stream's state: the newest snapshot that decodes, then
// every event after it. Snapshots that fail are listed in Skipped, never
// trusted. Errors reading or applying events are returned: an event is never
// skipped.
func Recover[S any](ctx context.Context, store Store, log events.Log, stream string, r Replayer[S]) (Recovered[S], error) {
	var out Recovered[S]
	head, err := log.StreamHead(ctx, stream)
	if err != nil {
		return out, fmt.Errorf("cannot recover %s: %w", stream, err)
	}
	snaps, errs, err := store.List(ctx, stream)
	if err != nil {
		return out, fmt.Errorf("cannot list snapshots of %s: %w", stream, err)
	}
	out.State = r.Empty()
	for i, s := range snaps {
		if errs[i] != nil {
			out.Skipped = append(out.Skipped, errs[i])
			continue
		}
		if s.Stream != stream {
			out.Skipped = append(out.Skipped, &DecodeError{Stream: stream, Seq: s.Seq, Err: fmt.Errorf("%w: record belongs to %q", ErrCorrupt, s.Stream)})
			continue
		}
		if s.Seq > head {
			out.Skipped = append(out.Skipped, &DecodeError{Stream: stream, Seq: s.Seq, Err: fmt.Errorf("%w: stream head is %d", ErrAhead, head)})
			continue
		}
		state, err := r.Decode(s)
		if err != nil {
			out.Skipped = append(out.Skipped, &DecodeError{Stream: stream, Seq: s.Seq, Err: err})
			continue
		}
		out.State, out.Seq, out.Snapshot = state, s.Seq, s.Seq
		break
	}
	const page = 1024
	for out.Seq < head {
		batch, err := log.ReadStream(ctx, stream, out.Seq+1, page)
		if err != nil {
			return out, fmt.Errorf("cannot replay %s from %d: %w", stream, out.Seq+1, err)
		}
		if len(batch) == 0 {
			return out, fmt.Errorf("cannot replay %s: %w: stream head is %d but events end at %d", stream, events.ErrCorrupt, head, out.Seq)
		}
		for _, e := range batch {
			if out.State, err = r.Apply(out.State, e); err != nil {
				return out, fmt.Errorf("cannot apply %s event %d (%s): %w", stream, e.StreamSeq, e.Type, err)
			}
			out.Seq = e.StreamSeq
			out.Replayed++
		}
	}
	return out, nil
}
