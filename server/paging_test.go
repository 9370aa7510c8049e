package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// appendLarge appends n records of a stream the server has no machine
// for, each with a cause of size bytes, and returns their global seqs.
func appendLarge(t *testing.T, log events.Log, n, size int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := range n {
		cause := fmt.Sprintf("%04d:", i) + strings.Repeat("x", size)
		stored, _, err := log.Append(context.Background(), "bulk.report", events.AnyVersion(),
			[]events.Event{{Type: "report", Schema: 1, Time: time.Now(), Cause: cause}})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, stored[0].GlobalSeq)
	}
	return seqs
}

// replayAll pages statemgr.log.replay from 1 to the head, checking every
// raw reply fits the connection's max payload, and returns the events
// and the number of pages.
func replayAll(t *testing.T, nc *nats.Conn) ([]server.Event, int) {
	t.Helper()
	var all []server.Event
	pages := 0
	for from := uint64(1); ; pages++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		page, err := client.New(nc).Replay(ctx, server.ReplayRequest{From: from, Limit: 1000})
		cancel()
		if err != nil {
			t.Fatalf("replay from %d (page %d): %v", from, pages, err)
		}
		all = append(all, page.Events...)
		if !page.More {
			if page.Next <= page.Head {
				t.Fatalf("page from %d says no more but next %d <= head %d", from, page.Next, page.Head)
			}
			return all, pages + 1
		}
		from = page.Next
	}
}

// TestReplayPagesLargeRecords: after records whose replay is many times
// the 1 MiB max payload, replay returns every record exactly once across
// pages, and tail --from (client.Tail) delivers them all. Before paging
// the reply was dropped and the request timed out.
func TestReplayPagesLargeRecords(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	nc := env.Connect(t)
	want := appendLarge(t, env.Log, 120, 30_000) // ~3.6 MB of replay
	evs, pages := replayAll(t, nc)
	if pages < 4 {
		t.Fatalf("replay of ~3.6 MB took %d pages, want at least 4 under a %d-byte max payload", pages, nc.MaxPayload())
	}
	seen := map[uint64]int{}
	for i, ev := range evs {
		seen[ev.Seq]++
		if i > 0 && ev.Seq <= evs[i-1].Seq {
			t.Fatalf("replay went back from seq %d to %d", evs[i-1].Seq, ev.Seq)
		}
	}
	for _, seq := range want {
		if seen[seq] != 1 {
			t.Fatalf("record %d replayed %d times, want once", seq, seen[seq])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var tailed []uint64
	err := client.New(nc).Tail(ctx, client.TailOptions{From: want[0]}, func(ev server.Event) error {
		tailed = append(tailed, ev.Seq)
		return nil
	})
	if err != nil {
		t.Fatalf("tail --from %d: %v", want[0], err)
	}
	// The tail reads to the head it finds, which may be past the records
	// appended here (the simulated platform's own events).
	if len(tailed) < len(want) {
		t.Fatalf("tail --from %d delivered %d events, want at least %d", want[0], len(tailed), len(want))
	}
	checkContiguous(t, tailed, want[0], want[0]+uint64(len(tailed))-1)
}

// TestReplayOversizedRecordIsTypedError: a record larger than a reply can
// carry is refused reply_too_large naming it, size and limit; the records
// before it still arrive, and the page after it can be read.
func TestReplayOversizedRecordIsTypedError(t *testing.T) {
	env := servertest.Start(t, servertest.Options{MaxPayload: 16 << 10})
	nc := env.Connect(t)
	small := appendLarge(t, env.Log, 3, 1000)
	big := appendLarge(t, env.Log, 1, 20_000)[0]
	after := appendLarge(t, env.Log, 1, 1000)[0]
	cl := client.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	page, err := cl.Replay(ctx, server.ReplayRequest{From: small[0]})
	if err != nil {
		t.Fatalf("replay of the records before the oversized one: %v", err)
	}
	// The simulated platform's own records (its startup reconciliation)
	// may land among the test's under load: only the bulk ones are counted.
	if got := bulkSeqs(page); !slices.Equal(got, small) || !page.More || page.Next != big {
		t.Fatalf("first page has bulk records %v, more %v, next %d; want %v, true, %d", got, page.More, page.Next, small, big)
	}
	_, err = cl.Replay(ctx, server.ReplayRequest{From: big})
	var apiErr *server.Error
	if !errors.As(err, &apiErr) || apiErr.Kind != server.ErrReplyTooLarge {
		t.Fatalf("replay of a 20 KB record under a 16 KiB max payload: %v, want %s", err, server.ErrReplyTooLarge.Name())
	}
	for _, part := range []string{fmt.Sprintf("event %d", big), "bytes encoded", "max payload"} {
		if !strings.Contains(apiErr.Message, part) {
			t.Errorf("error message %q does not say %q", apiErr.Message, part)
		}
	}
	if !strings.Contains(apiErr.EffectiveHint(), "max_payload") {
		t.Errorf("hint %q does not say what to do", apiErr.EffectiveHint())
	}
	page, err = cl.Replay(ctx, server.ReplayRequest{From: big + 1})
	if got := bulkSeqs(page); err != nil || !slices.Equal(got, []uint64{after}) {
		t.Fatalf("replay past the oversized record: bulk records %v, %v; want [%d]", got, err, after)
	}
}

// bulkSeqs are the sequence numbers of the page's records appended by
// appendLarge.
func bulkSeqs(page server.ReplayReply) []uint64 {
	var out []uint64
	for _, e := range page.Events {
		if e.Kind == "bulk" {
			out = append(out, e.Seq)
		}
	}
	return out
}

// manyHostsPlatform is a platform file of n hosts none of whose GPIO lines
// are wired: three diagnostics per host.
func manyHostsPlatform(n int) string {
	var b strings.Builder
	b.WriteString("chassis \"0\" {\n  psu \"p\" {\n    bus = 1\n    address = \"0x58\"\n    backend = \"sim\"\n  }\n}\n")
	for i := range n {
		fmt.Fprintf(&b, "host \"%d\" {\n}\n", i)
	}
	return b.String()
}

// TestValidatePagesLargeResult: validating a 3,000-host platform, whose
// report is over the 1 MiB max payload, returns every diagnostic across
// pages. Before paging the reply was dropped.
func TestValidatePagesLargeResult(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	nc := env.Connect(t)
	const name = "platform-with-three-thousand-hosts.hcl"
	src := manyHostsPlatform(3000)
	_, perr := platform.Parse(name, []byte(src))
	var diag *platform.Error
	if !errors.As(perr, &diag) {
		t.Fatalf("the generated platform parses: %v", perr)
	}
	total := 0
	for _, d := range diag.Diagnostics {
		total += len(d.String())
	}
	if total < int(nc.MaxPayload()) {
		t.Fatalf("the report is %d bytes, not over the %d-byte max payload: the test proves nothing", total, nc.MaxPayload())
	}
	pages := 0
	request := func(ctx context.Context, subject string, req, reply any) error {
		pages++
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return client.New(nc).Request(ctx, subject, req, reply)
	}
	reply, err := client.ValidateAll(context.Background(), request, server.ValidateRequest{Name: name, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if reply.OK || len(reply.Errors) != len(diag.Diagnostics) || pages < 2 {
		t.Fatalf("validate returned ok %v, %d errors in %d pages; want false, %d in 2 or more", reply.OK, len(reply.Errors), pages, len(diag.Diagnostics))
	}
	for i, d := range diag.Diagnostics {
		if reply.Errors[i] != d.String() {
			t.Fatalf("error %d is %q, want %q", i, reply.Errors[i], d.String())
		}
	}
}

// TestListsPageUnderSmallMaxPayload: with a max payload smaller than the
// component list (2 KiB: a reconciled chassis alone is ~400 bytes), the list subjects, system status and history page, and
// the client's followers return everything once.
func TestListsPageUnderSmallMaxPayload(t *testing.T) {
	env := servertest.Start(t, servertest.Options{MaxPayload: 2 << 10})
	nc := env.Connect(t)
	request := func(ctx context.Context, subject string, req, reply any) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return client.New(nc).Request(ctx, subject, req, reply)
	}
	ctx := context.Background()
	var ids []string
	for _, id := range env.System.IDs() {
		ids = append(ids, string(id))
	}
	list, err := client.ListAll(ctx, request, server.SubjectComponentsList, server.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	status, err := client.StatusAll(ctx, request)
	if err != nil {
		t.Fatal(err)
	}
	for name, comps := range map[string][]server.Component{"list": list.Components, "status": status.Components} {
		var got []string
		for _, c := range comps {
			got = append(got, c.ID)
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("%s returned %v, want %v", name, got, ids)
		}
	}
	var first server.ComponentList
	if err := request(ctx, server.SubjectComponentsList, server.ListRequest{}, &first); err != nil || !first.More {
		t.Fatalf("one list page under a %d-byte max payload: more %v, %d components, %v; the test proves nothing", nc.MaxPayload(), first.More, len(first.Components), err)
	}

	env.Observe(t, "bmc.0", "services_ready")
	churn(t, env, 60)
	var seqs []uint64
	for from := uint64(0); ; {
		var page server.HistoryReply
		if err := request(ctx, server.SubjectHistory, server.HistoryRequest{ID: "bmc.0", From: from}, &page); err != nil {
			t.Fatal(err)
		}
		for _, tr := range page.Transitions {
			seqs = append(seqs, tr.Seq)
		}
		if !page.More {
			break
		}
		from = page.Next
	}
	if len(seqs) < 61 {
		t.Fatalf("history has %d transitions, want at least 61", len(seqs))
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("history repeats or reorders: %d after %d", seqs[i], seqs[i-1])
		}
	}
}
