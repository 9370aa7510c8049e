package badger

import (
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Profile is a named set of Badger tunings.
type Profile string

// Storage profiles.
const (
	// ProfileBMC fits 256–512 MB devices: one 8 MB memtable, no block
	// cache (hence no compression), a bounded index cache, 16 MB value log
	// files, flat 1 MB tables, and a 64 MiB Go memory limit. Measured:
	// 12 MiB of heap at open, 30–40 MiB of anonymous memory after 200k
	// appends and a full replay (docs/PERFORMANCE.md).
	ProfileBMC Profile = "bmc"
	// ProfileServer is for machines with memory to spare: larger memtables
	// and caches for faster replay.
	ProfileServer Profile = "server"
)

// MemoryLimit is the Go soft memory limit (runtime/debug.SetMemoryLimit) a
// process using this profile should run with, 0 for none. Without it the
// collector lets the heap double between cycles, which a 256 MB BMC cannot
// afford; the daemon applies it unless GOMEMLIMIT is set.
func (p Profile) MemoryLimit() int64 {
	if p == ProfileBMC {
		return 64 << 20
	}
	return 0
}

// GCPercent is the Go collector's target percentage
// (runtime/debug.SetGCPercent) a process using this profile should run
// with, 0 for the runtime's default; the daemon applies it unless GOGC is
// set. The bmc profile's memtable arena (one pointer-free make of about
// 10 MiB) counts as live heap, so at the default 100 the collector lets
// another 10 MiB of garbage become resident between cycles: at 25 an idle
// daemon keeps a few MiB of it, and the arena, having no pointers, adds
// nothing to the more frequent cycles' marking.
func (p Profile) GCPercent() int {
	if p == ProfileBMC {
		return 25
	}
	return 0
}

// Reserve is the free space the log keeps on a filesystem of fsSize bytes
// (Options.MinFreeBytes). Badger maps its write-ahead and value logs
// sparse, and a write to a page the filesystem cannot back is SIGBUS, so
// the log stops appending while less than this is free. The most it keeps
// is what the profile can use at once: two write-ahead and two value-log
// files being filled, plus a memtable flush. On a smaller filesystem (BMC
// flash partitions are often 64 MB) it keeps a quarter of the filesystem
// (compactions, which cannot be refused once started, rewrite a share of
// the data that grows with it: an eighth was not enough on 160 MiB,
// TestRealDiskFull), but never less than one memtable flush and one
// level-1 compaction.
func (p Profile) Reserve(fsSize int64) int64 {
	o, err := p.options("")
	if err != nil {
		o, _ = ProfileServer.options("")
	}
	most := 2*o.ValueLogFileSize + 3*o.MemTableSize + 8<<20
	least := o.MemTableSize + o.BaseLevelSize
	return min(most, max(least, fsSize/4))
}

// ParseProfile returns the profile named s.
func ParseProfile(s string) (Profile, error) {
	switch p := Profile(s); p {
	case ProfileBMC, ProfileServer:
		return p, nil
	}
	return "", fmt.Errorf("unknown storage profile %q: use %q or %q", s, ProfileBMC, ProfileServer)
}

// options returns Badger options for dir under profile p. SyncWrites is on
// in every profile: an acknowledged event must survive power loss.
func (p Profile) options(dir string) (badgerdb.Options, error) {
	// Conflict detection guards concurrent read-write transactions; here
	// the committer is the only writer of the log's keys (and the directory
	// lock keeps a second log out), so it would only cost time per key.
	o := badgerdb.DefaultOptions(dir).WithSyncWrites(true).WithLogger(nil).WithDetectConflicts(false).
		// A block is checked when read: a bit flip in a table is an error,
		// never a wrong key or value.
		WithChecksumVerificationMode(options.OnBlockRead)
	switch p {
	case ProfileBMC:
		o = o.WithMemTableSize(8 << 20).
			WithNumMemtables(1).
			WithNumLevelZeroTables(1).
			WithNumLevelZeroTablesStall(2).
			WithNumCompactors(2).
			WithBaseTableSize(1 << 20).
			WithBaseLevelSize(4 << 20).
			WithBlockCacheSize(0).
			WithCompression(options.None).
			WithIndexCacheSize(8 << 20).
			WithValueLogFileSize(16 << 20).
			WithValueThreshold(64 << 10).
			WithNumGoroutines(1).
			WithMetricsEnabled(false)
		// Badger sizes tables (and the compaction buffers that build them,
		// twice their size) by TableSizeMultiplier^level; at the default 2
		// a deep level's compaction allocates tens of MiB. Flat 1 MiB tables
		// keep compaction memory bounded on a BMC.
		o.TableSizeMultiplier = 1
	case ProfileServer, "":
		o = o.WithMemTableSize(64 << 20).
			WithNumMemtables(3).
			WithNumLevelZeroTables(3).
			WithNumLevelZeroTablesStall(8).
			WithNumCompactors(2).
			WithIndexCacheSize(128 << 20).
			WithValueLogFileSize(256 << 20).
			WithNumGoroutines(4)
	default:
		return o, fmt.Errorf("unknown storage profile %q: use %q or %q", p, ProfileBMC, ProfileServer)
	}
	return fitTableBuilderTo32Bit(o), nil
}
