package badger_test

import (
	"encoding/binary"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/statemgr/statemgr/events/badger"
)

// Plain Badger (no statemgr code) with each profile's options: every key of
// a memtable flushed to a table must be read back, before and after a
// reopen. On 32-bit ARM with a base table smaller than the memtable, the
// flush overwrote the front of its own table (ristretto's z.Allocator
// growth bug, options_32bit.go): 11 372 of 30 000 keys were read back with
// the BMC profile, and the reopen panicked on a garbage block offset.
func TestPlainBadgerKeepsFlushedKeys(t *testing.T) {
	for _, p := range []badger.Profile{badger.ProfileBMC, badger.ProfileServer} {
		t.Run(string(p), func(t *testing.T) {
			o, err := badger.BadgerOptions(p, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			// Enough 400-byte values to outgrow the memtable (at least
			// one flush while writing, one more at close).
			keys := int(o.MemTableSize/400) + int(o.MemTableSize/1600)
			db, err := badgerdb.Open(o)
			if err != nil {
				t.Fatal(err)
			}
			value := make([]byte, 400)
			key := func(i int) []byte { return binary.BigEndian.AppendUint64([]byte("k"), uint64(i)) }
			for i := 0; i < keys; i += 100 {
				if err := db.Update(func(txn *badgerdb.Txn) error {
					for j := i; j < min(i+100, keys); j++ {
						if err := txn.Set(key(j), value); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			check := func(when string) {
				t.Helper()
				next := 0
				if err := db.View(func(txn *badgerdb.Txn) error {
					it := txn.NewIterator(badgerdb.IteratorOptions{})
					defer it.Close()
					for it.Rewind(); it.Valid(); it.Next() {
						if got := it.Item().Key(); string(got) != string(key(next)) {
							t.Fatalf("%s: key %d is %x", when, next, got)
						}
						next++
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if next != keys {
					t.Fatalf("%s: read %d of %d keys", when, next, keys)
				}
			}
			check("before reopen")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if db, err = badgerdb.Open(o); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			check("after reopen")
		})
	}
}
