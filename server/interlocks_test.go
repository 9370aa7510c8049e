package server_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// hostsPlatform is the default platform with hosts 2..n-1 added, each
// with its own lines.
func hostsPlatform(t testing.TB, n int) *platform.Platform {
	t.Helper()
	var b strings.Builder
	b.Write(platform.DefaultSource())
	for i := 2; i < n; i++ {
		fmt.Fprintf(&b, "host \"%d\" {\n  chassis = \"0\"\n", i)
		for _, g := range []struct{ role, line, polarity string }{
			{"power_out", "POWER_OUT", "active-low"}, {"reset_out", "RESET_OUT", "active-low"}, {"power_good", "PS_PWROK", "active-high"},
		} {
			fmt.Fprintf(&b, "  gpio %q {\n    line = \"%s_%d\"\n    polarity = %q\n  }\n", g.role, g.line, i, g.polarity)
		}
		b.WriteString("}\n")
	}
	p, err := platform.Parse("hosts.hcl", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// blockersOf returns the blockers the reply lists for request of id.
func blockersOf(t *testing.T, reply server.InterlocksReply, id, request string) []coordinator.Blocker {
	t.Helper()
	i := slices.IndexFunc(reply.Requests, func(rb server.RequestBlockers) bool { return rb.ID == id && rb.Request == request })
	if i < 0 {
		t.Fatalf("no item for %s %s in %d items", id, request, len(reply.Requests))
	}
	return reply.Requests[i].Blockers
}

// TestInterlocksListEndToEnd: over the real embedded nats-server, a
// viewer reads statemgr.interlocks.list: with the chassis Off, host.0's
// power on is blocked by power_dependency (not overridable, saying what
// clears it), exactly the refusal an operator's power on then gets; once
// the chassis is On (and the last read is older than the max age) nothing
// blocks it. A bad "from" or an unknown id is a typed error.
func TestInterlocksListEndToEnd(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: users})
	ctx := ctxT(t)
	operator := client.New(env.Connect(t, client.UserInfo("otto", "operator-pw")))
	viewer := client.New(env.Connect(t, client.UserInfo("vera", "viewer-pw")))
	read := func(id string) server.InterlocksReply {
		t.Helper()
		reply, err := client.InterlocksAll(ctx, viewer.Request, id)
		if err != nil {
			t.Fatalf("viewer's interlocks.list: %v", err)
		}
		return reply
	}
	all := read("")
	if n := len(all.Requests); n != 2+3+2*9 {
		t.Fatalf("%d items, want the BMC's 2, the chassis' 3 and 9 per host", n)
	}
	on := blockersOf(t, all, "host.0", "On")
	if len(on) == 0 || on[0].Check != string(coordinator.InterlockPowerDependency) || on[0].Overridable ||
		!strings.Contains(on[0].Reason, "chassis.0 is Off") || !strings.Contains(on[0].Clears, "chassis.0 is powered on") {
		t.Fatalf("host.0 On blockers %+v: want power_dependency first", on)
	}
	if bs := blockersOf(t, all, "chassis.0", "On"); len(bs) != 0 {
		t.Fatalf("chassis.0 On blockers %+v, want none", bs)
	}
	var refused *server.Error
	err := operator.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0"}, nil)
	if !errors.As(err, &refused) || refused.Refusal == nil || refused.Refusal.Interlock != on[0].Check || refused.Refusal.Clears != on[0].Clears {
		t.Fatalf("host.0 on refused with %v, want the first blocker %+v", err, on[0])
	}
	if one := read("host.0"); len(one.Requests) != 9 || one.Requests[0].ID != "host.0" {
		t.Fatalf("host.0's items %+v, want its 9", one.Requests)
	}

	env.PowerChassis(t, "chassis.0")
	deadline := time.Now().Add(3 * coordinator.BlockersMaxAge)
	for bs := blockersOf(t, read(""), "host.0", "On"); len(bs) != 0; bs = blockersOf(t, read(""), "host.0", "On") {
		if time.Now().After(deadline) {
			t.Fatalf("host.0 On blockers with chassis.0 On: %+v, want none", bs)
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, tc := range []struct {
		req  server.InterlocksRequest
		want *server.ErrorKind
	}{
		{server.InterlocksRequest{From: "host.9/On"}, server.ErrBadRequest},
		{server.InterlocksRequest{ID: "host.9"}, server.ErrUnknownComponent},
		{server.InterlocksRequest{ID: "nonsense"}, server.ErrBadID},
	} {
		if err := viewer.Request(ctx, server.SubjectInterlocksList, tc.req, nil); !errors.Is(err, tc.want) {
			t.Errorf("interlocks.list %+v: %v, want %s", tc.req, err, tc.want.Constant)
		}
	}
}

// TestInterlocksListPagesUnderSmallMaxPayload: with a 4 KiB max payload
// and 12 hosts, statemgr.interlocks.list pages by size (the whole list
// is several times the payload) and the client's follower returns every
// item once, in order.
func TestInterlocksListPagesUnderSmallMaxPayload(t *testing.T) {
	const hosts = 12
	env := servertest.Start(t, servertest.Options{MaxPayload: 4 << 10, Platform: hostsPlatform(t, hosts)})
	nc := env.Connect(t)
	cl := client.New(nc)
	ctx := ctxT(t)
	var first server.InterlocksReply
	if err := cl.Request(ctx, server.SubjectInterlocksList, server.InterlocksRequest{}, &first); err != nil || !first.More || first.Next == "" {
		t.Fatalf("first page under a %d-byte max payload: more %v, %d items, %v; the test proves nothing", nc.MaxPayload(), first.More, len(first.Requests), err)
	}
	all, err := client.InterlocksAll(ctx, cl.Request, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.Requests); n != 2+3+hosts*9 {
		t.Fatalf("%d items, want %d", n, 2+3+hosts*9)
	}
	seen := map[string]bool{}
	for _, rb := range all.Requests {
		if seen[rb.Key()] {
			t.Fatalf("%s listed twice", rb.Key())
		}
		seen[rb.Key()] = true
	}
	if bs := blockersOf(t, all, fmt.Sprintf("host.%d", hosts-1), "On"); len(bs) == 0 || bs[0].Check != string(coordinator.InterlockPowerDependency) {
		t.Fatalf("last host's On blockers %+v, want power_dependency", bs)
	}
}
