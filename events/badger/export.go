package badger

import (
	"context"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// Export calls fn with every key and value of the database — the log's
// records and those of the stores that share it (snapshots/badger) — as
// of one read transaction, and returns the global head that transaction
// saw. Appends go on meanwhile and are not seen, so the copy is consistent
// at the head: every event up to it, and every snapshot and index entry
// written with them. key and value are valid only during the call. An
// error from fn stops the export and is returned.
func (l *Log) Export(ctx context.Context, fn func(key, value []byte) error) (head uint64, err error) {
	err = l.view(ctx, func(txn *badgerdb.Txn) error {
		if head, err = readU64(txn, []byte(keyGlobal)); err != nil {
			return err
		}
		it := txn.NewIterator(badgerdb.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("cannot export the event log: %w", err)
	}
	return head, nil
}
