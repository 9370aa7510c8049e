package badger

import (
	"strconv"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// fitTableBuilderTo32Bit works around a ristretto v2 (<= v2.4.2) bug that
// corrupts tables on 32-bit platforms (armv7, the AST2600). Badger builds a
// table in a z.Allocator that starts with one buffer of 2*TableSize bytes;
// when a table outgrows it, Allocator.Allocate stores the next buffer's
// index as uint64((bufIdx+1)<<32), which is 0 when int has 32 bits, so
// allocation restarts at the front of the first buffer and overwrites the
// blocks already built (z/allocator.go:290). A memtable flush writes the
// whole memtable into one level-0 table of TableSize = BaseTableSize, so
// with BaseTableSize below the memtable every flush lost its first blocks.
// With BaseTableSize at twice the memtable, the first buffer (4× the
// memtable) holds a flush even when every block is reallocated for large
// inline values (doubling wastes at most the block's final size), and a
// compaction stops a table at 0.95*TableSize, so no builder ever grows.
func fitTableBuilderTo32Bit(o badgerdb.Options) badgerdb.Options {
	if strconv.IntSize == 32 {
		o.BaseTableSize = max(o.BaseTableSize, 2*o.MemTableSize)
	}
	return o
}
