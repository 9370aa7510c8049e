package snapshots_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/events"
	eventsbadger "github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/events/eventstest"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

var ctx = context.Background()

func TestCodec(t *testing.T) {
	s := snapshots.Snapshot{Stream: "host.0", Seq: 42, Schema: 3, Time: time.Unix(1700000000, 5).UTC(), State: []byte(`{"state":"Running"}`)}
	rec := snapshots.Encode(s)
	got, err := snapshots.Decode(rec)
	if err != nil || got.Stream != s.Stream || got.Seq != s.Seq || got.Schema != s.Schema || !got.Time.Equal(s.Time) || string(got.State) != string(s.State) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for n := 0; n < len(rec); n++ {
		if _, err := snapshots.Decode(rec[:n]); !errors.Is(err, snapshots.ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v, want ErrCorrupt", n, err)
		}
	}
	for i := range rec {
		bad := append([]byte(nil), rec...)
		bad[i] ^= 0x10
		if _, err := snapshots.Decode(bad); err == nil {
			t.Fatalf("flipped byte %d decoded", i)
		}
	}
	future := append([]byte(nil), rec...)
	future[0] = 9
	if _, err := snapshots.Decode(future); !errors.Is(err, snapshots.ErrUnknownVersion) {
		t.Fatalf("future record version: %v", err)
	}
}

func TestPolicyDue(t *testing.T) {
	p := snapshots.Policy{EveryEvents: 10, Every: time.Minute}
	t0 := time.Unix(1000, 0)
	cases := []struct {
		lastSeq, head uint64
		age           time.Duration
		want          bool
	}{
		{0, 0, time.Hour, false},         // nothing to snapshot
		{0, 9, 0, false},                 // too few events, too young
		{0, 10, 0, true},                 // enough events
		{5, 6, time.Minute, true},        // old enough, with new events
		{5, 5, time.Hour, false},         // old but nothing new
		{5, 14, 59 * time.Second, false}, // neither
	}
	for _, c := range cases {
		if got := p.Due(c.lastSeq, t0, c.head, t0.Add(c.age)); got != c.want {
			t.Errorf("Due(last %d, head %d, age %v) = %v, want %v", c.lastSeq, c.head, c.age, got, c.want)
		}
	}
}

type backend struct {
	log   events.Log
	store snapshots.Store
}

func backends(t *testing.T) map[string]func() backend {
	return map[string]func() backend{
		"mem": func() backend { return backend{memlog.New(), memsnap.New()} },
		"badger": func() backend {
			l, err := eventsbadger.Open(eventsbadger.Options{Dir: t.TempDir(), Profile: eventsbadger.ProfileBMC, GCInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })
			return backend{l, snapbadger.New(l.DB())}
		},
	}
}

func TestStoreKeepsNewest(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b := open()
			for seq := uint64(1); seq <= 5; seq++ {
				for _, stream := range []string{"a", "a.1"} {
					if err := b.store.Save(ctx, snapshots.Snapshot{Stream: stream, Seq: seq, Schema: 1, State: []byte(stream + strconv.Itoa(int(seq)))}, 3); err != nil {
						t.Fatal(err)
					}
				}
			}
			snaps, errs, err := b.store.List(ctx, "a")
			if err != nil || len(snaps) != 3 {
				t.Fatalf("List: %d snapshots, %v; want the newest 3", len(snaps), err)
			}
			for i, want := range []uint64{5, 4, 3} {
				if errs[i] != nil || snaps[i].Seq != want || string(snaps[i].State) != "a"+strconv.Itoa(int(want)) {
					t.Fatalf("snapshot %d: %+v %v, want seq %d of stream a", i, snaps[i], errs[i], want)
				}
			}
		})
	}
}

// sumReplayer rebuilds "the sum of the payloads" of a stream.
var sumReplayer = snapshots.Replayer[int]{
	Empty: func() int { return 0 },
	Decode: func(s snapshots.Snapshot) (int, error) {
		if s.Schema != 1 {
			return 0, fmt.Errorf("%w: state schema %d", snapshots.ErrUnknownVersion, s.Schema)
		}
		return strconv.Atoi(string(s.State))
	},
	Apply: func(sum int, e events.Event) (int, error) {
		v, err := strconv.Atoi(string(e.Payload))
		return sum + v, err
	},
}

func appendValues(t *testing.T, l events.Log, stream string, from, to int) {
	t.Helper()
	for v := from; v <= to; v++ {
		if _, _, err := l.Append(ctx, stream, events.AnyVersion(), []events.Event{eventstest.Ev("add", strconv.Itoa(v))}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRecoverFallsBackPastBadSnapshots(t *testing.T) {
	l, store := memlog.New(), memsnap.New()
	appendValues(t, l, "host.0", 1, 30) // sum 465
	save := func(seq uint64, schema uint16, state string) {
		if err := store.Save(ctx, snapshots.Snapshot{Stream: "host.0", Seq: seq, Schema: schema, State: []byte(state)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	save(10, 1, "55")
	save(20, 1, "210")
	save(25, 2, "325") // a schema this build does not know
	save(40, 1, "820") // ahead of the stream
	store.Corrupt("host.0", 20)

	got, err := snapshots.Recover(ctx, store, l, "host.0", sumReplayer)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != 465 || got.Seq != 30 || got.Snapshot != 10 || got.Replayed != 20 {
		t.Fatalf("recovered %+v; want sum 465 at 30 from the snapshot at 10 with 20 replayed", got)
	}
	if len(got.Skipped) != 3 || !errors.Is(got.Skipped[0], snapshots.ErrAhead) ||
		!errors.Is(got.Skipped[1], snapshots.ErrUnknownVersion) || !errors.Is(got.Skipped[2], snapshots.ErrCorrupt) {
		t.Fatalf("skipped %v; want ahead, unknown schema, corrupt", got.Skipped)
	}
	store.Corrupt("host.0", 10)
	if got, err = snapshots.Recover(ctx, store, l, "host.0", sumReplayer); err != nil || got.State != 465 || got.Snapshot != 0 || got.Replayed != 30 {
		t.Fatalf("with every snapshot bad: %+v, %v; want a full replay", got, err)
	}
}

func TestRecoverNeverSkipsABadEvent(t *testing.T) {
	l := memlog.New()
	appendValues(t, l, "host.0", 1, 5)
	l.Store().Corrupt(3)
	if _, err := snapshots.Recover(ctx, memsnap.New(), l, "host.0", sumReplayer); !errors.Is(err, events.ErrCorrupt) {
		t.Fatalf("recover over a corrupt event: %v, want ErrCorrupt", err)
	}
}

// TestRecoveryMatchesModel drives random appends (with retried idempotency
// keys), snapshots, reopens and crashes, and checks after each step that
// every stream recovers to the model's state, with gapless sequences and no
// duplicated idempotent append.
func TestRecoveryMatchesModel(t *testing.T) {
	for _, name := range []string{"mem", "badger"} {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				var log events.Log
				var store snapshots.Store
				var reopen func(crash bool)
				switch name {
				case "mem":
					ml, ms := memlog.New(), memsnap.New()
					log, store = ml, ms
					reopen = func(crash bool) {
						if crash {
							ml.Crash()
						}
						ml = ml.Reopen()
						log = ml
					}
				case "badger":
					dir := t.TempDir()
					open := func() {
						bl, err := eventsbadger.Open(eventsbadger.Options{Dir: dir, Profile: eventsbadger.ProfileBMC, GCInterval: -1})
						if err != nil {
							rt.Fatal(err)
						}
						log, store = bl, snapbadger.New(bl.DB())
					}
					open()
					defer func() { _ = log.Close() }()
					reopen = func(bool) {
						if err := log.Close(); err != nil {
							rt.Fatal(err)
						}
						open()
					}
				}
				streams := []string{"host.0", "host.1", "chassis.0"}
				model := map[string][]int{}          // acknowledged values per stream
				keyed := map[string]map[string]int{} // stream -> key -> value first stored
				var keys []string
				rt.Repeat(map[string]func(*rapid.T){
					"append": func(rt *rapid.T) {
						stream := rapid.SampledFrom(streams).Draw(rt, "stream")
						v := rapid.IntRange(-100, 100).Draw(rt, "value")
						e := eventstest.Ev("add", strconv.Itoa(v))
						if len(keys) > 0 && rapid.Bool().Draw(rt, "retry") {
							e.IdempotencyKey = rapid.SampledFrom(keys).Draw(rt, "key")
						} else if rapid.Bool().Draw(rt, "keyed") {
							e.IdempotencyKey = fmt.Sprintf("op-%d", len(keys))
							keys = append(keys, e.IdempotencyKey)
						}
						_, dup, err := log.Append(ctx, stream, events.AnyVersion(), []events.Event{e})
						if err != nil {
							rt.Fatal(err)
						}
						_, seen := keyed[stream][e.IdempotencyKey]
						if dup != (seen && e.IdempotencyKey != "") {
							rt.Fatalf("append %v to %s: duplicate=%v, model says %v", e.IdempotencyKey, stream, dup, seen)
						}
						if dup {
							return
						}
						model[stream] = append(model[stream], v)
						if e.IdempotencyKey != "" {
							if keyed[stream] == nil {
								keyed[stream] = map[string]int{}
							}
							keyed[stream][e.IdempotencyKey] = v
						}
					},
					"snapshot": func(rt *rapid.T) {
						stream := rapid.SampledFrom(streams).Draw(rt, "stream")
						rec, err := snapshots.Recover(ctx, store, log, stream, sumReplayer)
						if err != nil {
							rt.Fatal(err)
						}
						if err := store.Save(ctx, snapshots.Snapshot{Stream: stream, Seq: rec.Seq, Schema: 1, State: []byte(strconv.Itoa(rec.State))}, 2); err != nil {
							rt.Fatal(err)
						}
					},
					// Reopening Badger costs milliseconds; keep it to one
					// draw in five so runs stay short.
					"reopen": func(rt *rapid.T) {
						if rapid.IntRange(0, 4).Draw(rt, "rarely") == 0 {
							reopen(false)
						}
					},
					"crash": func(rt *rapid.T) {
						if rapid.IntRange(0, 4).Draw(rt, "rarely") == 0 {
							reopen(true)
						}
					},
					"": func(rt *rapid.T) {
						for _, stream := range streams {
							rec, err := snapshots.Recover(ctx, store, log, stream, sumReplayer)
							if err != nil {
								rt.Fatal(err)
							}
							sum := 0
							for _, v := range model[stream] {
								sum += v
							}
							if rec.State != sum || rec.Seq != uint64(len(model[stream])) || len(rec.Skipped) != 0 {
								rt.Fatalf("%s recovered %+v, model has sum %d over %d events", stream, rec, sum, len(model[stream]))
							}
						}
						all, err := log.ReadAll(ctx, 1, 0)
						if err != nil {
							rt.Fatal(err)
						}
						next := map[string]uint64{}
						for i, e := range all {
							next[e.Stream]++
							if e.GlobalSeq != uint64(i+1) || e.StreamSeq != next[e.Stream] {
								rt.Fatalf("sequence gap at %d: global %d, %s seq %d", i, e.GlobalSeq, e.Stream, e.StreamSeq)
							}
						}
					},
				})
			})
		})
	}
}
