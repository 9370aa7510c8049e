package server_test

import (
	"encoding/json"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// liveHeap returns the live heap after a full collection, and the bytes
// allocated so far.
func liveHeap() (live, allocated uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.TotalAlloc
}

// TestHostileNestingRefusedCheaplyOverNATS: the bodies of issue 15 (a
// platform source of 150,000 nested brackets, of nested function calls,
// of nested templates, and JSON nested as deep as the size limits allow),
// sent over NATS, get too_complex, located for a platform source, and
// cost the server a few copies of the body: the live heap after the
// requests is where it was, and what they allocated is a small multiple
// of their size. Before the pre-parser, the brackets overflowed
// hclsyntax's stack and killed the daemon after climbing to 400 MB RSS;
// before this test's change, statemgr.validate answered them as a
// successful reply with ok false, and JSON nesting went to encoding/json.
// (issue 15 item 1)
func TestHostileNestingRefusedCheaplyOverNATS(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	const depth = 150000
	validate := func(src string) []byte {
		body, err := json.Marshal(server.ValidateRequest{Name: "deep.hcl", Source: src})
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	jsonDeep := func(prefix string, size int) []byte {
		n := (size - len(prefix) - 1) / 2
		return []byte(prefix + strings.Repeat("[", n) + strings.Repeat("]", n) + "}")
	}
	cases := []struct {
		name, subject string
		body          []byte
		located       bool
	}{
		{"brackets", server.SubjectValidate, validate("x = " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n"), true},
		{"calls", server.SubjectValidate, validate("x = " + strings.Repeat("f(", depth) + "1" + strings.Repeat(")", depth) + "\n"), true},
		{"templates", server.SubjectValidate, validate("x = " + strings.Repeat(`"${`, depth/3) + "1" + strings.Repeat(`}"`, depth/3) + "\n"), true},
		{"json validate", server.SubjectValidate, jsonDeep(`{"source":`, server.MaxValidateSize), false},
		{"json host.get", server.SubjectHostGet, jsonDeep(`{"id":`, server.MaxRequestSize), false},
	}
	ctx := ctxT(t)
	// One request first, so that the connection's buffers and the
	// endpoints' goroutines are in the baseline.
	if err := cl.RequestRaw(ctx, server.SubjectValidate, cases[0].body, nil); !errors.Is(err, server.ErrTooComplex) {
		t.Fatalf("brackets: %v, want too_complex", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			limit := server.MaxRequestSize
			if tc.subject == server.SubjectValidate {
				limit = server.MaxValidateSize
			}
			if len(tc.body) > limit {
				t.Fatalf("body of %d bytes is past %s's size limit %d", len(tc.body), tc.subject, limit)
			}
			liveBefore, allocBefore := liveHeap()
			err := cl.RequestRaw(ctx, tc.subject, tc.body, nil)
			liveAfter, allocAfter := liveHeap()
			if !errors.Is(err, server.ErrTooComplex) {
				t.Fatalf("%d bytes: %v, want too_complex", len(tc.body), err)
			}
			if tc.located && !strings.Contains(err.Error(), "deep.hcl:1:") {
				t.Errorf("error %q is not located in deep.hcl", err)
			}
			allocated := allocAfter - allocBefore
			grown := int64(liveAfter) - int64(liveBefore)
			t.Logf("%d-byte body: allocated %d bytes (%.1f× the body), live heap %+d bytes", len(tc.body), allocated,
				float64(allocated)/float64(len(tc.body)), grown)
			if allocated > uint64(16*len(tc.body)) {
				t.Errorf("the request allocated %d bytes, more than 16× its %d-byte body", allocated, len(tc.body))
			}
			if grown > 4<<20 {
				t.Errorf("the live heap grew by %d bytes", grown)
			}
		})
	}
	var list server.ComponentList
	if err := cl.Request(ctx, server.SubjectHostsList, nil, &list); err != nil || len(list.Components) == 0 {
		t.Fatalf("hosts.list after the requests: %+v, %v", list, err)
	}
}

// TestScheduleRefusedOutsideHorizon: "at" in the past, now itself, or more
// than server.MaxScheduleAhead ahead of the server's clock is refused
// bad_schedule saying why and what is accepted; before, 0000-01-01,
// 2000-01-01 and 9999-12-31 were all scheduled. (issue 15 item 3)
func TestScheduleRefusedOutsideHorizon(t *testing.T) {
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	env := servertest.Start(t, servertest.Options{Server: server.Config{Clock: clock.NewVirtual(now)}})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	schedule := func(at string) error {
		var reply server.ControlReply
		return cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", At: at}, &reply)
	}
	for at, why := range map[string]string{
		"0000-01-01T00:00:00Z":                     "not in the future",
		"2000-01-01T00:00:00Z":                     "not in the future",
		now.Format(time.RFC3339):                   "not in the future",
		now.Add(-time.Second).Format(time.RFC3339): "not in the future",
		now.Add(server.MaxScheduleAhead + time.Second).Format(time.RFC3339): "horizon",
		"9999-12-31T23:59:59Z": "horizon",
	} {
		err := schedule(at)
		if !errors.Is(err, server.ErrBadSchedule) || !strings.Contains(err.Error(), why) ||
			!strings.Contains(err.Error(), "2026-12-07T06:00:00Z") || !strings.Contains(err.Error(), "at most 7 days ahead") {
			t.Errorf("at %s: %v, want bad_schedule saying %q, the server's time and what is accepted", at, err, why)
		}
	}
	for _, ahead := range []time.Duration{time.Second, time.Hour, server.MaxScheduleAhead} {
		if err := schedule(now.Add(ahead).Format(time.RFC3339)); err != nil {
			t.Errorf("at now+%v: %v, want it scheduled", ahead, err)
		}
	}
}

// TestSelfStateReportsBounded: a service flooding large self-state
// reports stores a bounded number of bounded records. A status past
// server.MaxSelfStateText is refused field_too_long; past
// server.SelfStateBurst reports at once (then server.SelfStateRate a
// second on the server's clock) reports are refused rate_limited, saying
// when to retry; the bytes the log holds for the service are counted.
// Before, every one of 200 60 KB reports was stored. (issue 23 item 10)
func TestSelfStateReportsBounded(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC))
	env := servertest.Start(t, servertest.Options{Platform: servicePlatform(t), Server: server.Config{Clock: clk}})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	if err := cl.Request(ctx, server.SubjectServiceStart, server.IDRequest{ID: "service.sync"}, nil); err != nil {
		t.Fatal(err)
	}
	subject := server.ServiceSelfStateSubject("sync")
	huge := strings.Repeat("x", 60<<10)
	for _, req := range []server.SelfStateRequest{{State: "ERROR", Status: huge}, {Event: "initialized", Cause: huge}} {
		if err := cl.Request(ctx, subject, req, nil); !errors.Is(err, server.ErrFieldTooLong) || !strings.Contains(err.Error(), "at most 1024") {
			t.Fatalf("a 60 KB report: %v, want field_too_long naming the limit", err)
		}
	}
	held := func() (records, bytes int) {
		evs, err := env.Log.ReadStream(ctx, "service.sync", 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			bytes += len(e.Payload) + len(e.Cause) + len(e.Operation) + len(e.IdempotencyKey)
		}
		return len(evs), bytes
	}
	baseRecords, baseBytes := held()
	flood := func(n int) (accepted int) {
		for i := range n {
			status := strconv.Itoa(i) + strings.Repeat("s", server.MaxSelfStateText-len(strconv.Itoa(i)))
			var comp server.Component
			err := cl.Request(ctx, subject, server.SelfStateRequest{State: "ERROR", Status: status}, &comp)
			switch {
			case err == nil:
				accepted++
				if len(comp.StatusLine) > server.MaxSelfStateText+100 {
					t.Fatalf("status_line of %d bytes", len(comp.StatusLine))
				}
			case errors.Is(err, server.ErrRateLimited):
				if !strings.Contains(err.Error(), "retry in") {
					t.Fatalf("rate_limited without when to retry: %v", err)
				}
			default:
				t.Fatalf("report %d: %v", i, err)
			}
		}
		return accepted
	}
	if got := flood(200); got != server.SelfStateBurst {
		t.Fatalf("%d of 200 reports at once accepted, want the burst of %d", got, server.SelfStateBurst)
	}
	clk.Advance(5 * time.Second)
	if got := flood(200); got != 5*server.SelfStateRate {
		t.Fatalf("%d of 200 reports 5 s later accepted, want %d", got, 5*server.SelfStateRate)
	}
	records, bytes := held()
	stored := server.SelfStateBurst + 5*server.SelfStateRate
	perRecord := 3*server.MaxSelfStateText + 1024 // the status in the cause and the payload, and the rest of the record
	t.Logf("400 reports of %d bytes: %d records, %d bytes held for the service", server.MaxSelfStateText, records-baseRecords, bytes-baseBytes)
	if records-baseRecords > stored || bytes-baseBytes > stored*perRecord {
		t.Fatalf("the service's reports hold %d records, %d bytes; want at most %d records of %d bytes", records-baseRecords, bytes-baseBytes, stored, perRecord)
	}
}
