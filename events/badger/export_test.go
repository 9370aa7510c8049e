package badger

import badgerdb "github.com/dgraph-io/badger/v4"

// SetCommit replaces how l commits, to inject failures.
func (l *Log) SetCommit(commit func(*badgerdb.Txn) error) { l.commit = commit }

// BadgerOptions returns the Badger options profile p opens dir with.
func BadgerOptions(p Profile, dir string) (badgerdb.Options, error) { return p.options(dir) }
