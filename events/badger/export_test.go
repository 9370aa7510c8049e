package badger

import badgerdb "github.com/dgraph-io/badger/v4"

// SetCommit replaces how l commits, to inject failures.
func (l *Log) SetCommit(commit func(*badgerdb.Txn) error) { l.commit = commit }

// BadgerOptions are the Badger options Open uses for profile p in dir.
func BadgerOptions(p Profile, dir string) (badgerdb.Options, error) { return p.options(dir) }

// UseBadgerCompactors makes Open run Badger's own compaction workers in
// every profile until the returned func is called.
func UseBadgerCompactors() (restore func()) {
	badgerCompactors = true
	return func() { badgerCompactors = false }
}

// TableOptionsFor32Bit are the options fitTableBuilderTo32Bit gives where
// int has 32 bits, on any platform.
func TableOptionsFor32Bit(o badgerdb.Options) badgerdb.Options { return tableOptionsFor32Bit(o) }

// FlushBuilderBytes bounds what a memtable flush's table builder allocates.
func FlushBuilderBytes(o badgerdb.Options) int64 { return flushBuilderBytes(o) }

// LongestKey is the longest key the log writes, without Badger's version.
const LongestKey = longestKey
