// Package badger keeps snapshots in the event log's Badger database, beside
// the events, under the key prefix 'n':
//
//	n <stream> 0x00 <seq, big-endian>   the snapshot record (snapshots.Encode)
//
// Save writes the new snapshot and deletes the ones beyond the kept count in
// one transaction, so a crash leaves either the old set or the new one.
package badger

import (
	"context"
	"encoding/binary"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/statemgr/statemgr/snapshots"
)

var _ snapshots.Store = (*Store)(nil)

// Store is a snapshots.Store in a Badger database shared with the event log.
type Store struct{ db *badgerdb.DB }

// New returns a store over db (from events/badger's Log.DB).
func New(db *badgerdb.DB) *Store { return &Store{db: db} }

func prefix(stream string) []byte {
	p := append([]byte{'n'}, stream...)
	return append(p, 0)
}

// Save implements snapshots.Store.
func (s *Store) Save(ctx context.Context, snap snapshots.Snapshot, keep int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := prefix(snap.Stream)
	err := s.db.Update(func(txn *badgerdb.Txn) error {
		if err := txn.Set(binary.BigEndian.AppendUint64(append([]byte(nil), p...), snap.Seq), snapshots.Encode(snap)); err != nil {
			return err
		}
		if keep <= 0 {
			return nil
		}
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: p, Reverse: true})
		defer it.Close()
		kept := 0
		var stale [][]byte
		for it.Seek(append(append([]byte(nil), p...), 0xff)); it.Valid(); it.Next() {
			if kept++; kept > keep {
				stale = append(stale, it.Item().KeyCopy(nil))
			}
		}
		// The new snapshot is a pending write the iterator already saw.
		for _, k := range stale {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot save snapshot of %s at %d: %w", snap.Stream, snap.Seq, err)
	}
	return nil
}

// List implements snapshots.Store.
func (s *Store) List(ctx context.Context, stream string) ([]snapshots.Snapshot, []error, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	p := prefix(stream)
	var snaps []snapshots.Snapshot
	var errs []error
	err := s.db.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: p, Reverse: true, PrefetchValues: true, PrefetchSize: 4})
		defer it.Close()
		for it.Seek(append(append([]byte(nil), p...), 0xff)); it.Valid(); it.Next() {
			seq := binary.BigEndian.Uint64(it.Item().Key()[len(p):])
			var snap snapshots.Snapshot
			err := it.Item().Value(func(v []byte) (err error) {
				snap, err = snapshots.Decode(v)
				return err
			})
			if err != nil {
				err = &snapshots.DecodeError{Stream: stream, Seq: seq, Err: err}
			}
			snaps = append(snaps, snap)
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot list snapshots of %s: %w", stream, err)
	}
	return snaps, errs, nil
}
