package badger

import (
	"strconv"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/statemgr/statemgr/events"
)

// Where int has 32 bits (armv7, the AST2600), a Badger table builder must
// never outgrow the first buffer of its z.Allocator. ristretto v2 (<= v2.4.2)
// records the next buffer as uint64((bufIdx+1)<<32), an int shift that is 0
// on 32-bit (z/allocator.go:290), so a builder that grows restarts at the
// front of its own buffer and overwrites the blocks it built: acknowledged
// records are lost and the table fails its checksum. The first buffer is
// 2*TableSize rounded up to a power of two (table.NewTableBuilder), and
// builders come from a pool shared by every table size. What a builder
// allocates (badger v4.9.6 table/builder.go):
//
//   - one block of BlockSize+256 bytes per block it starts, and, when an
//     entry does not fit, a reallocated block of twice that or the entry's
//     size (the old one is wasted) — the first entry of a block is added
//     without a size check, so a value near or above BlockSize reallocates,
//     about 3.3x the value in all;
//   - with compression, a second buffer per block for the compressed copy,
//     while capacity is counted in compressed bytes (a compressible table
//     holds many times TableSize of raw blocks).
//
// The 32-bit options make the allocation bounded by arithmetic:
//
//  1. No compression (the bmc profile has none anyway).
//  2. No block ever reallocates: an entry is at most
//     Lmax = longestKey + 8 (version) + (ValueThreshold-1) + 2 (meta) + 10
//     (expiry varint) bytes of key and encoded value (a value of
//     ValueThreshold bytes or more goes to the value log, the table holds a
//     12-byte pointer), and a block's first entry with its header (4), its
//     offset (4), the count (4), the CRC-32C checksum (<= 6) and its length
//     (4) must fit BlockSize+256: Lmax+22 <= BlockSize+256. Later entries
//     are added only while the builder's estimate stays within BlockSize.
//  3. So the builder allocates nBlocks*(BlockSize+256) bytes. A block is
//     finished only when the next entry (<= Lmax) would overflow it, so
//     every finished block holds more than BlockSize-Lmax-26-4n bytes of
//     entries (n entries); in the memtable's arena each entry took at least
//     20 (skiplist node) + key + encoded value, 16 more than in the block,
//     so each finished block used more than BlockSize-Lmax-14 bytes of
//     arena. A flush writes one memtable, at most arenaSize bytes, into one
//     table: nBlocks <= arenaSize/(BlockSize-Lmax-14)+1, and BaseTableSize
//     is at least half that times BlockSize+256.
//  4. A compaction stops its table once the finished blocks reach
//     0.95*TableSize (each more than BlockSize-Lmax-18 bytes), plus the
//     versions of its last key: far below the flush's bound.
//  5. TableSizeMultiplier 1: every builder gets a pooled allocator sized
//     for BaseTableSize, so no level may build larger tables.
//  6. At most 3 level-0 tables (the write stall): Badger's L0->L0
//     compaction, which needs 4, merges them into one table of any size.
//
// With the bmc profile (8 MiB memtable, arena 10.4 MiB): BlockSize 16 KiB,
// ValueThreshold 4 KiB, Lmax 4517, a flush needs at most 921 blocks,
// 14.6 MiB, so BaseTableSize is 8 MiB and builders take 16 MiB buffers.
// On 64-bit the options are unchanged.
func fitTableBuilderTo32Bit(o badgerdb.Options) badgerdb.Options {
	if strconv.IntSize == 32 {
		return tableOptionsFor32Bit(o)
	}
	return o
}

// The 32-bit block size and value threshold: with 16 KiB blocks an entry
// of up to 4 KiB value and the longest key leaves every finished block at
// least 11 KiB full, so a flush's table costs at most 1.4x its data.
const (
	blockSize32      = 16 << 10
	valueThreshold32 = 4 << 10
	// longestKey is statemgr's longest key: an idempotency key,
	// 'k' <stream> 0x00 <key> (keys.go).
	longestKey = 2 + events.MaxStreamLen + events.MaxKeyLen
	// blockPadding is what table.NewTableBuilder adds to each block.
	blockPadding = 256
)

func tableOptionsFor32Bit(o badgerdb.Options) badgerdb.Options {
	o.Compression = options.None
	o.BlockSize = max(o.BlockSize, blockSize32)
	o.ValueThreshold = min(o.ValueThreshold, valueThreshold32)
	o.TableSizeMultiplier = 1
	o.NumLevelZeroTablesStall = min(o.NumLevelZeroTablesStall, 3)
	o.NumLevelZeroTables = min(o.NumLevelZeroTables, o.NumLevelZeroTablesStall-1)
	need := (flushBuilderBytes(o) + 1) / 2
	o.BaseTableSize = max(o.BaseTableSize, (need+1<<20-1)&^(1<<20-1))
	return o
}

// largestEntry is Lmax above: key with version plus encoded inline value.
func largestEntry(o badgerdb.Options) int64 {
	return longestKey + 8 + (o.ValueThreshold - 1) + 2 + 10
}

// flushBuilderBytes bounds what a memtable flush's builder allocates
// (item 3 above); arenaSize is Badger's (db.go).
func flushBuilderBytes(o badgerdb.Options) int64 {
	batch := 15 * o.MemTableSize / 100
	const maxNodeSize = 96 // skl.MaxNodeSize
	arena := o.MemTableSize + batch + batch/maxNodeSize*maxNodeSize
	blocks := arena/(int64(o.BlockSize)-largestEntry(o)-14) + 1
	return blocks * int64(o.BlockSize+blockPadding)
}
