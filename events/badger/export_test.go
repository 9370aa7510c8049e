package badger

import badgerdb "github.com/dgraph-io/badger/v4"

// SetCommit replaces how l commits, to inject failures.
func (l *Log) SetCommit(commit func(*badgerdb.Txn) error) { l.commit = commit }
