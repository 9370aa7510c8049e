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
