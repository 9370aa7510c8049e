package badger_test

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"

	"github.com/statemgr/statemgr/events/badger"
)

// valueSizes are the value sizes that stress a table builder under options
// o: small values, values over the 4 KiB default block, values just over
// half a block (one per block, the most blocks per byte), and values at
// the value threshold -1, 0 and +1 (the largest inline value, the smallest
// in the value log).
func valueSizes(o badgerdb.Options) []int {
	return []int{400, 16 << 10, o.BlockSize/2 + 1, int(o.ValueThreshold) - 1, int(o.ValueThreshold), int(o.ValueThreshold) + 1}
}

// Plain Badger (no statemgr code) with each profile's options: every key of
// a memtable flushed to a table must be read back, before and after a
// reopen. On 32-bit ARM (ristretto's z.Allocator growth bug,
// options_32bit.go) with a base table smaller than the memtable, the flush
// overwrote the front of its own table: 11 372 of 30 000 400-byte values
// were read back with the BMC profile, and the reopen panicked on a garbage
// block offset. With base tables of twice the memtable, values larger than
// the 4 KiB block still made the builder reallocate blocks and outgrow its
// buffer.
func TestPlainBadgerKeepsFlushedKeys(t *testing.T) {
	for _, p := range []badger.Profile{badger.ProfileBMC, badger.ProfileServer} {
		o, err := badger.BadgerOptions(p, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range valueSizes(o) {
			t.Run(fmt.Sprintf("%s/%d", p, size), func(t *testing.T) {
				if testing.Short() && p == badger.ProfileServer && size != 400 {
					t.Skip("the server profile's memtable is 64 MiB; -short runs its 400-byte case only")
				}
				plainBadgerKeepsFlushedKeys(t, p, size)
			})
		}
	}
}

func plainBadgerKeepsFlushedKeys(t *testing.T, p badger.Profile, size int) {
	o, err := badger.BadgerOptions(p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Enough inline values for several flushes and a compaction into
	// full-sized tables (4 memtables in the bmc profile, where a
	// compaction's builder outgrew its buffer), at least one flush while
	// writing, one more at close, and at least 200 values.
	volume := max(min(4*o.MemTableSize, 40<<20), o.MemTableSize*5/4)
	keys := max(200, int(volume)/(size+40))
	db, err := badgerdb.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	value := func(i int) []byte {
		v := make([]byte, size)
		binary.BigEndian.PutUint64(v, uint64(i))
		return v
	}
	key := func(i int) []byte { return binary.BigEndian.AppendUint64([]byte("k"), uint64(i)) }
	perTxn := max(1, min(100, int(o.MemTableSize/10)/size))
	for i := 0; i < keys; i += perTxn {
		if err := db.Update(func(txn *badgerdb.Txn) error {
			for j := i; j < min(i+perTxn, keys); j++ {
				if err := txn.Set(key(j), value(j)); err != nil {
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
				v, err := it.Item().ValueCopy(nil)
				if err != nil || len(v) != size || binary.BigEndian.Uint64(v) != uint64(next) {
					t.Fatalf("%s: value of key %d: %d bytes, %v", when, next, len(v), err)
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
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	check("after reopen")
}

// The 32-bit options keep every table builder within its first buffer, by
// the arithmetic of options_32bit.go: no block reallocates, a flush of a
// full memtable arena and a compaction's table fit twice BaseTableSize, and
// that stays below Badger's 256 MiB cap on the first buffer.
func TestTableOptionsFor32BitBoundTheBuilder(t *testing.T) {
	for _, p := range []badger.Profile{badger.ProfileBMC, badger.ProfileServer} {
		o64, err := badger.BadgerOptions(p, "")
		if err != nil {
			t.Fatal(err)
		}
		o := badger.TableOptionsFor32Bit(o64)
		first := 2 * o.BaseTableSize
		entry := int64(badger.LongestKey + 8 + int(o.ValueThreshold-1) + 2 + 10)
		block := int64(o.BlockSize + 256)
		if entry+22 > block {
			t.Errorf("%s: an entry of %d bytes reallocates a block of %d", p, entry, block)
		}
		if flush := badger.FlushBuilderBytes(o); flush > first {
			t.Errorf("%s: a flush may allocate %d bytes, the first buffer holds %d", p, flush, first)
		}
		if compaction := (o.BaseTableSize*95/100/(int64(o.BlockSize)-entry-18) + 2) * block; compaction > first {
			t.Errorf("%s: a compaction may allocate %d bytes, the first buffer holds %d", p, compaction, first)
		}
		if first > 256<<20 || o.Compression != options.None || o.TableSizeMultiplier != 1 || o.NumLevelZeroTablesStall > 3 {
			t.Errorf("%s: first buffer %d, compression %v, table multiplier %d, L0 stall %d", p, first, o.Compression, o.TableSizeMultiplier, o.NumLevelZeroTablesStall)
		}
	}
}

// A table builder with the 32-bit options, given a full memtable's worth
// of the worst entries, allocates no second buffer (on any platform: the
// allocator's growth shows as a buffer of twice the first one in the heap
// statistics). With 4 KiB blocks and a 64 KiB value threshold, 16 KiB
// values made the builder allocate about 3.3x their size and grow.
func TestTableBuilderStaysInItsFirstBuffer(t *testing.T) {
	o64, err := badger.BadgerOptions(badger.ProfileBMC, "")
	if err != nil {
		t.Fatal(err)
	}
	o := badger.TableOptionsFor32Bit(o64)
	batch := 15 * o.MemTableSize / 100
	arena := o.MemTableSize + 2*batch
	first := uint64(2 * o.BaseTableSize)
	for _, size := range valueSizes(o) {
		for _, keyLen := range []int{9, badger.LongestKey} {
			t.Run(fmt.Sprintf("%d/key%d", size, keyLen), func(t *testing.T) {
				stored := size
				if int64(size) >= o.ValueThreshold {
					stored = 12 // the table holds a value-log pointer
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b := table.NewTableBuilder(table.Options{TableSize: uint64(o.BaseTableSize), BlockSize: o.BlockSize,
					Compression: o.Compression, ChkMode: o.ChecksumVerificationMode, BloomFalsePositive: o.BloomFalsePositive})
				defer b.Close()
				vs := y.ValueStruct{Value: make([]byte, stored)}
				key := y.KeyWithTs(make([]byte, keyLen), 1)
				for i, used := 0, int64(0); ; i++ {
					binary.BigEndian.PutUint64(key[keyLen-8:keyLen], uint64(i))
					// A skiplist node takes at least 20 bytes of the arena.
					if used += 20 + int64(len(key)) + int64(vs.EncodedSize()); used > arena {
						break
					}
					b.Add(key, vs, 0)
				}
				runtime.ReadMemStats(&after)
				if grown := after.TotalAlloc - before.TotalAlloc; grown > first+first/2 {
					t.Fatalf("building the table allocated %d MiB, its first buffer is %d MiB: the builder grew", grown>>20, first>>20)
				}
			})
		}
	}
}
