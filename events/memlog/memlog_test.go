package memlog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/eventstest"
	"github.com/statemgr/statemgr/events/memlog"
)

func TestContract(t *testing.T) {
	eventstest.Run(t, eventstest.Harness{
		Open:   func(*testing.T) events.Log { return memlog.New() },
		Reopen: func(_ *testing.T, l events.Log) events.Log { return l.(*memlog.Log).Reopen() },
	})
}

var ctx = context.Background()

func TestCrashDropsUnacknowledged(t *testing.T) {
	l := memlog.New()
	if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "1")}); err != nil {
		t.Fatal(err)
	}
	l.Inject(memlog.CrashBeforeAck)
	if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "2")}); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("append crashed before ack: %v, want ErrClosed", err)
	}
	if _, err := l.Head(ctx); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("crashed log still answers: %v", err)
	}
	l = l.Reopen()
	all, err := l.ReadAll(ctx, 1, 0)
	if err != nil || len(all) != 1 || string(all[0].Payload) != "1" {
		t.Fatalf("after crash: %+v, %v; want only the acknowledged event", all, err)
	}
}

func TestIOFaultsFailTheLogUntilReopened(t *testing.T) {
	for _, c := range []struct {
		fault memlog.Fault
		want  error
	}{{memlog.NoSpace, events.ErrNoSpace}, {memlog.SyncFailure, events.ErrSyncFailed}} {
		l := memlog.New()
		l.Inject(c.fault)
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "1")}); !errors.Is(err, c.want) {
			t.Fatalf("fault %d: %v, want %v", c.fault, err, c.want)
		}
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "2")}); !errors.Is(err, events.ErrLogFailed) {
			t.Fatalf("append after fault %d: %v, want ErrLogFailed", c.fault, err)
		}
		l = l.Reopen()
		if head, _ := l.Head(ctx); head != 0 {
			t.Fatalf("fault %d: an unacknowledged append survived", c.fault)
		}
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "3")}); err != nil {
			t.Fatalf("append after reopen: %v", err)
		}
	}
}

func TestDamagedRecordsAreReported(t *testing.T) {
	future := events.Encode(nil, eventstest.Ev("a", "x"))
	future[0] = events.CodecVersion + 1
	for _, c := range []struct {
		name   string
		damage func(*memlog.Store)
		want   error
	}{
		{"bit flip", func(s *memlog.Store) { s.Corrupt(2) }, events.ErrCorrupt},
		{"torn write", func(s *memlog.Store) { s.Truncate(2, 7) }, events.ErrCorrupt},
		{"future codec", func(s *memlog.Store) { s.Rewrite(2, future) }, events.ErrUnknownVersion},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := memlog.New()
			for _, b := range []string{"1", "2", "3"} {
				if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", b)}); err != nil {
					t.Fatal(err)
				}
			}
			c.damage(l.Store())
			got, err := l.ReadAll(ctx, 1, 0)
			var re *events.RecordError
			if !errors.Is(err, c.want) || !errors.As(err, &re) || re.GlobalSeq != 2 {
				t.Fatalf("ReadAll over a damaged record: %v, want %v at global 2", err, c.want)
			}
			if len(got) != 1 {
				t.Fatalf("ReadAll returned %d events before the damaged one, want 1 and no skipping", len(got))
			}
			if _, err := l.ReadStream(ctx, "host.0", 1, 0); !errors.Is(err, c.want) {
				t.Fatalf("ReadStream over a damaged record: %v", err)
			}
		})
	}
}
