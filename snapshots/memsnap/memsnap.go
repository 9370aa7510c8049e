// Package memsnap is the in-memory snapshots.Store, for tests and the
// simulation. Records are kept encoded, so decoding and its errors are real,
// and Corrupt damages one on purpose.
package memsnap

import (
	"context"
	"sort"
	"sync"

	"github.com/statemgr/statemgr/snapshots"
)

var _ snapshots.Store = (*Store)(nil)

// Store keeps encoded snapshot records per stream.
type Store struct {
	mu      sync.Mutex
	streams map[string]map[uint64][]byte
}

// New returns an empty store.
func New() *Store { return &Store{streams: make(map[string]map[uint64][]byte)} }

// Save implements snapshots.Store.
func (s *Store) Save(ctx context.Context, snap snapshots.Snapshot, keep int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.streams[snap.Stream]
	if recs == nil {
		recs = make(map[uint64][]byte)
		s.streams[snap.Stream] = recs
	}
	recs[snap.Seq] = snapshots.Encode(snap)
	if keep > 0 {
		seqs := s.seqs(snap.Stream)
		for _, seq := range seqs[min(keep, len(seqs)):] {
			delete(recs, seq)
		}
	}
	return nil
}

// seqs returns the stream's snapshot seqs, newest first. The caller holds mu.
func (s *Store) seqs(stream string) []uint64 {
	var seqs []uint64
	for seq := range s.streams[stream] {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] > seqs[j] })
	return seqs
}

// List implements snapshots.Store.
func (s *Store) List(ctx context.Context, stream string) ([]snapshots.Snapshot, []error, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var snaps []snapshots.Snapshot
	var errs []error
	for _, seq := range s.seqs(stream) {
		snap, err := snapshots.Decode(s.streams[stream][seq])
		if err != nil {
			err = &snapshots.DecodeError{Stream: stream, Seq: seq, Err: err}
		}
		snaps = append(snaps, snap)
		errs = append(errs, err)
	}
	return snaps, errs, nil
}

// Corrupt flips a byte of the stream's snapshot at seq.
func (s *Store) Corrupt(stream string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := append([]byte(nil), s.streams[stream][seq]...)
	rec[len(rec)/2] ^= 0xa5
	s.streams[stream][seq] = rec
}
