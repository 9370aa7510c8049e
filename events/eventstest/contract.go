package eventstest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/events"
)

// Harness opens logs for the contract suite.
type Harness struct {
	// Open returns a new, empty log; the suite closes it.
	Open func(t *testing.T) events.Log
	// Reopen closes l and returns a log over the same storage.
	Reopen func(t *testing.T, l events.Log) events.Log
}

// Run runs the whole contract against h.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"SequencesAndRoundTrip", testSequences},
		{"ExpectedVersion", testExpectedVersion},
		{"Idempotency", testIdempotency},
		{"InvalidAppends", testInvalid},
		{"ReadRanges", testReadRanges},
		{"ConcurrentAppenders", testConcurrent},
		{"OptimisticConcurrency", testOptimistic},
		{"SubscribeReplayThenLive", testSubscribe},
		{"Reopen", testReopen},
		{"Closed", testClosed},
		{"CancelledContext", testCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

var ctx = context.Background()

// Ev builds a test event of type typ with payload body.
func Ev(typ, body string) events.Event {
	return events.Event{Type: typ, Schema: 1, Time: time.Unix(1700000000, 123456789).UTC(), Cause: "test",
		Requester: "tester", Operation: "op-" + body, Payload: []byte(body)}
}

// Keyed is Ev with an idempotency key.
func Keyed(typ, body, key string) events.Event {
	e := Ev(typ, body)
	e.IdempotencyKey = key
	return e
}

func mustAppend(t *testing.T, l events.Log, stream string, exp events.Expected, batch ...events.Event) []events.Event {
	t.Helper()
	stored, dup, err := l.Append(ctx, stream, exp, batch)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	if dup {
		t.Fatalf("append to %s: unexpected duplicate", stream)
	}
	return stored
}

func open(t *testing.T, h Harness) events.Log {
	l := h.Open(t)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func testSequences(t *testing.T, h Harness) {
	l := open(t, h)
	var all []events.Event
	for i := 0; i < 5; i++ {
		all = append(all, mustAppend(t, l, "host.0", events.AnyVersion(), Ev("a", fmt.Sprint(i)))...)
		all = append(all, mustAppend(t, l, "host.1", events.AnyVersion(), Ev("b", fmt.Sprint(i)), Ev("c", fmt.Sprint(i)))...)
	}
	for i, e := range all {
		if e.GlobalSeq != uint64(i+1) {
			t.Fatalf("event %d has global seq %d", i, e.GlobalSeq)
		}
	}
	got, err := l.ReadAll(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, all) {
		t.Fatalf("ReadAll differs from what Append returned:\n got %+v\nwant %+v", got, all)
	}
	h1, err := l.ReadStream(ctx, "host.1", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h1) != 10 {
		t.Fatalf("host.1 has %d events, want 10", len(h1))
	}
	for i, e := range h1 {
		if e.StreamSeq != uint64(i+1) || e.Stream != "host.1" {
			t.Fatalf("host.1 event %d: stream %s seq %d", i, e.Stream, e.StreamSeq)
		}
	}
	if head, _ := l.Head(ctx); head != 15 {
		t.Fatalf("head %d, want 15", head)
	}
	if head, _ := l.StreamHead(ctx, "host.0"); head != 5 {
		t.Fatalf("host.0 head %d, want 5", head)
	}
	if head, _ := l.StreamHead(ctx, "host.9"); head != 0 {
		t.Fatalf("unknown stream head %d, want 0", head)
	}
}

func testExpectedVersion(t *testing.T, h Harness) {
	l := open(t, h)
	mustAppend(t, l, "chassis.0", events.NoStream(), Ev("a", "1"))
	_, _, err := l.Append(ctx, "chassis.0", events.NoStream(), []events.Event{Ev("a", "2")})
	var ve *events.VersionError
	if !errors.As(err, &ve) || ve.Actual != 1 || ve.Stream != "chassis.0" {
		t.Fatalf("NoStream on a stream at 1: got %v, want a VersionError at 1", err)
	}
	mustAppend(t, l, "chassis.0", events.ExpectVersion(1), Ev("a", "2"), Ev("a", "3"))
	if _, _, err := l.Append(ctx, "chassis.0", events.ExpectVersion(2), []events.Event{Ev("a", "4")}); !errors.As(err, &ve) || ve.Actual != 3 {
		t.Fatalf("stale version: got %v", err)
	}
	if head, _ := l.StreamHead(ctx, "chassis.0"); head != 3 {
		t.Fatalf("a rejected append changed the head to %d", head)
	}
	if head, _ := l.Head(ctx); head != 3 {
		t.Fatalf("a rejected append changed the global head to %d", head)
	}
}

func testIdempotency(t *testing.T, h Harness) {
	l := open(t, h)
	first := mustAppend(t, l, "saga.1", events.NoStream(), Keyed("step", "1", "saga.1/0"), Keyed("step", "2", "saga.1/1"))
	// A retry of the same append, with its now stale expectation, returns
	// the events first stored.
	again, dup, err := l.Append(ctx, "saga.1", events.NoStream(), []events.Event{Keyed("step", "1", "saga.1/0"), Keyed("step", "2", "saga.1/1")})
	if err != nil || !dup || !reflect.DeepEqual(again, first) {
		t.Fatalf("retry: dup=%v err=%v stored=%+v, want the first append's events", dup, err, again)
	}
	if _, _, err := l.Append(ctx, "saga.1", events.AnyVersion(), []events.Event{Keyed("step", "3", "saga.1/1"), Keyed("step", "4", "saga.1/2")}); !errors.Is(err, events.ErrIdempotencyConflict) {
		t.Fatalf("half-duplicate batch: got %v, want ErrIdempotencyConflict", err)
	}
	// Keys are per stream.
	mustAppend(t, l, "saga.2", events.NoStream(), Keyed("step", "1", "saga.1/0"))
	if head, _ := l.Head(ctx); head != 3 {
		t.Fatalf("head %d after duplicates, want 3", head)
	}
	// Duplicates within one group of concurrent appends are caught too.
	var wg sync.WaitGroup
	var mu sync.Mutex
	dups := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, dup, err := l.Append(ctx, "saga.3", events.AnyVersion(), []events.Event{Keyed("step", "x", "once")})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if dup {
				dups++
			}
		}()
	}
	wg.Wait()
	if head, _ := l.StreamHead(ctx, "saga.3"); head != 1 || dups != 7 {
		t.Fatalf("8 concurrent appends of one key: head %d, %d duplicates; want 1 and 7", head, dups)
	}
}

func testInvalid(t *testing.T, h Harness) {
	l := open(t, h)
	noType := Ev("", "x")
	noSchema := Ev("a", "x")
	noSchema.Schema = 0
	otherStream := Ev("a", "x")
	otherStream.Stream = "host.1"
	cases := []struct {
		name   string
		stream string
		batch  []events.Event
	}{
		{"empty batch", "host.0", nil},
		{"empty stream", "", []events.Event{Ev("a", "x")}},
		{"space in stream", "host 0", []events.Event{Ev("a", "x")}},
		{"wildcard stream", "host.>", []events.Event{Ev("a", "x")}},
		{"no type", "host.0", []events.Event{noType}},
		{"schema 0", "host.0", []events.Event{noSchema}},
		{"other stream", "host.0", []events.Event{otherStream}},
		{"key twice", "host.0", []events.Event{Keyed("a", "1", "k"), Keyed("a", "2", "k")}},
	}
	for _, c := range cases {
		if _, _, err := l.Append(ctx, c.stream, events.AnyVersion(), c.batch); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", c.name, err)
		}
	}
	if head, _ := l.Head(ctx); head != 0 {
		t.Fatalf("invalid appends wrote %d events", head)
	}
}

func testReadRanges(t *testing.T, h Harness) {
	l := open(t, h)
	for i := 1; i <= 20; i++ {
		mustAppend(t, l, fmt.Sprintf("s.%d", i%2), events.AnyVersion(), Ev("a", fmt.Sprint(i)))
	}
	page, err := l.ReadAll(ctx, 5, 3)
	if err != nil || len(page) != 3 || page[0].GlobalSeq != 5 || page[2].GlobalSeq != 7 {
		t.Fatalf("ReadAll(5, 3) = %d events from %v, err %v", len(page), page, err)
	}
	page, err = l.ReadStream(ctx, "s.1", 4, 2)
	if err != nil || len(page) != 2 || page[0].StreamSeq != 4 || page[1].StreamSeq != 5 || page[0].Stream != "s.1" {
		t.Fatalf("ReadStream(s.1, 4, 2) = %+v, err %v", page, err)
	}
	if page, err = l.ReadAll(ctx, 21, 0); err != nil || len(page) != 0 {
		t.Fatalf("ReadAll past the head = %d events, err %v", len(page), err)
	}
	if page, err = l.ReadStream(ctx, "s.10", 1, 0); err != nil || len(page) != 0 {
		t.Fatalf("unknown stream: %d events, err %v (s.1 must not prefix-match s.10)", len(page), err)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	l := open(t, h)
	const writers, each = 16, 40
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				stream := fmt.Sprintf("c.%d", (w+i)%5)
				if _, _, err := l.Append(ctx, stream, events.AnyVersion(), []events.Event{Ev("a", fmt.Sprintf("%d/%d", w, i))}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	all, err := l.ReadAll(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*each {
		t.Fatalf("%d events stored, want %d", len(all), writers*each)
	}
	seen := make(map[string]bool)
	next := make(map[string]uint64)
	for i, e := range all {
		if e.GlobalSeq != uint64(i+1) {
			t.Fatalf("global gap at %d: %d", i+1, e.GlobalSeq)
		}
		next[e.Stream]++
		if e.StreamSeq != next[e.Stream] {
			t.Fatalf("stream %s: seq %d, want %d", e.Stream, e.StreamSeq, next[e.Stream])
		}
		if seen[string(e.Payload)] {
			t.Fatalf("event %s stored twice", e.Payload)
		}
		seen[string(e.Payload)] = true
	}
}

func testOptimistic(t *testing.T, h Harness) {
	l := open(t, h)
	const writers, each = 6, 15
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				head, err := l.StreamHead(ctx, "host.0")
				if err != nil {
					t.Error(err)
					return
				}
				_, _, err = l.Append(ctx, "host.0", events.ExpectVersion(head), []events.Event{Ev("a", fmt.Sprintf("%d/%d", w, i))})
				var ve *events.VersionError
				switch {
				case err == nil:
					i++
				case !errors.As(err, &ve):
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if head, _ := l.StreamHead(ctx, "host.0"); head != writers*each {
		t.Fatalf("head %d, want %d", head, writers*each)
	}
}

func testSubscribe(t *testing.T, h Harness) {
	l := open(t, h)
	for i := 1; i <= 10; i++ {
		mustAppend(t, l, "host.0", events.AnyVersion(), Ev("a", fmt.Sprint(i)))
	}
	sub, err := l.Subscribe(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	const total = 400
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 11; i <= total; i++ {
			if _, _, err := l.Append(ctx, fmt.Sprintf("host.%d", i%3), events.AnyVersion(), []events.Event{Ev("a", fmt.Sprint(i))}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	want := uint64(5)
	var got []events.Event
	timeout := time.After(20 * time.Second)
	receive := func(upTo uint64) {
		for want <= upTo {
			select {
			case e, ok := <-sub.C:
				if !ok {
					t.Fatalf("subscription ended at %d: %v", want, sub.Err())
				}
				if e.GlobalSeq != want {
					t.Fatalf("subscription delivered %d, want %d", e.GlobalSeq, want)
				}
				got = append(got, e)
				want++
			case <-timeout:
				t.Fatalf("subscription stalled waiting for %d", want)
			}
		}
	}
	receive(total)
	<-done
	// A subscriber that stops reading falls behind what the log keeps in
	// memory for followers, and catches up from the log.
	const batch, more = 7, 220 * 7 // three times what the log keeps
	for i := 0; i < more; i += batch {
		evs := make([]events.Event, batch)
		for j := range evs {
			evs[j] = Ev("b", fmt.Sprint(i+j))
		}
		mustAppend(t, l, "host.9", events.AnyVersion(), evs...)
	}
	receive(total + more)
	// Live or replayed, every event is the one a read returns.
	stored, err := l.ReadAll(ctx, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, stored) {
		for i := range min(len(got), len(stored)) {
			if !reflect.DeepEqual(got[i], stored[i]) {
				t.Fatalf("subscription delivered %+v, the log holds %+v", got[i], stored[i])
			}
		}
		t.Fatalf("subscription delivered %d events, the log holds %d", len(got), len(stored))
	}
	sub.Close()
	if err := sub.Err(); err != nil {
		t.Fatalf("closed subscription reports %v", err)
	}
}

func testReopen(t *testing.T, h Harness) {
	l := h.Open(t)
	mustAppend(t, l, "host.0", events.NoStream(), Keyed("a", "1", "k1"), Ev("a", "2"))
	mustAppend(t, l, "bmc.0", events.NoStream(), Ev("b", "1"))
	l = h.Reopen(t, l)
	defer l.Close()
	all, err := l.ReadAll(ctx, 1, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("after reopen: %d events, err %v", len(all), err)
	}
	stored := mustAppend(t, l, "host.0", events.ExpectVersion(2), Ev("a", "3"))
	if stored[0].GlobalSeq != 4 || stored[0].StreamSeq != 3 {
		t.Fatalf("after reopen the next append got global %d stream %d, want 4 and 3", stored[0].GlobalSeq, stored[0].StreamSeq)
	}
	if _, dup, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{Keyed("a", "1", "k1")}); err != nil || !dup {
		t.Fatalf("idempotency key lost across reopen: dup=%v err=%v", dup, err)
	}
}

func testClosed(t *testing.T, h Harness) {
	l := h.Open(t)
	mustAppend(t, l, "host.0", events.AnyVersion(), Ev("a", "1"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{Ev("a", "2")}); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
	if _, err := l.ReadAll(ctx, 1, 0); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("read after close: %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func testCancelled(t *testing.T, h Harness) {
	l := open(t, h)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := l.Append(cctx, "host.0", events.AnyVersion(), []events.Event{Ev("a", "1")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context: %v", err)
	}
	if head, _ := l.Head(ctx); head != 0 {
		t.Fatalf("a cancelled append was stored")
	}
}
