package badger_test

import (
	"fmt"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
)

// BenchmarkOpen measures what the open-time verification costs: Open (the
// checks, Badger's open, every record verified) against a plain Badger
// open of the same directory, in the same run, at two log sizes. Compare
// verified/plain ns/op per size (docs/PERFORMANCE.md).
func BenchmarkOpen(b *testing.B) {
	for _, records := range []int{10_000, 100_000} {
		dir := b.TempDir()
		l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		batch := make([]events.Event, 100)
		for i := range batch {
			batch[i] = events.Event{Type: "a", Schema: 1, Payload: make([]byte, 200)}
		}
		for n := 0; n < records; n += len(batch) {
			if _, _, err := l.Append(ctx, fmt.Sprintf("s.%d", n%64), events.AnyVersion(), batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("records=%d/plain", records), func(b *testing.B) {
			bo, err := badger.BadgerOptions(badger.ProfileBMC, dir)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				db, err := badgerdb.Open(bo)
				if err != nil {
					b.Fatal(err)
				}
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("records=%d/verified", records), func(b *testing.B) {
			for b.Loop() {
				l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
				if err != nil {
					b.Fatal(err)
				}
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
