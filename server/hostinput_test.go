package server_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
)

// hostInputRig is the simulated platform whose host 0 takes watchdog
// expiries, POST complete and boot progress from outside (not crashes;
// host 1 takes nothing), auto-reboot on with one boot attempt, a host
// watchdog daemon granted host 0 and a reporter granted every host.
func hostInputRig(t *testing.T) *servertest.Env {
	t.Helper()
	return hostInputEnv(t, `input {
    events = ["watchdog_expired", "post_complete", "boot_progress"]
  }`, servertest.Options{Policy: coordinator.Policy{AutoReboot: true, BootAttempts: 1}})
}

// hostInputEnv starts the simulated platform with block in host 0's
// block, and the users of hostInputRig.
func hostInputEnv(t *testing.T, block string, opts servertest.Options) *servertest.Env {
	t.Helper()
	src := strings.Replace(string(platform.DefaultSource()), `host "0" {`, `host "0" {
  `+block, 1)
	plat, err := platform.Parse("hostinput.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	opts.Platform = plat
	opts.Users = []server.User{
		{Name: "hostwd", Password: "wd-secret", Role: server.RoleViewer, Inputs: []string{"host.0"}},
		{Name: "bridge", Password: "bridge-secret", Role: server.RoleViewer, Inputs: []string{"host.*"}},
		{Name: "op", Password: "op-secret", Role: server.RoleOperator},
	}
	return servertest.Start(t, opts)
}

// hostRecord reads the host's record at seq from the log.
func hostRecord(t *testing.T, env *servertest.Env, seq uint64) machine.Event {
	t.Helper()
	evs, err := env.Log.ReadAll(ctxT(t), seq, 1)
	if err != nil || len(evs) != 1 || evs[0].Stream != "host.0" {
		t.Fatalf("record %d: %+v, %v", seq, evs, err)
	}
	rec, err := actors.DecodeRecord(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	return rec.Event
}

// A host watchdog daemon reports over the real embedded NATS server: boot
// progress and POST complete are recorded on the running host; a watchdog
// expiry reboots it while its boot attempt lasts, then quiesces it. Every
// reply comes once the host's record is in the log, naming its seq.
func TestHostWatchdogThroughTheDaemon(t *testing.T) {
	env := hostInputRig(t)
	wd := connectAs(t, env, "hostwd", "wd-secret")
	ctx := ctxT(t)
	env.PowerChassis(t, "chassis.0")
	env.Do(t, coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.0", ResetType: machine.RequestOn, Requester: "test"})

	send := func(body map[string]any) server.HostInputReply {
		t.Helper()
		var reply server.HostInputReply
		if err := wd.Request(ctx, "statemgr.input.host.0", body, &reply); err != nil {
			t.Fatalf("%v: %v", body, err)
		}
		return reply
	}
	r := send(map[string]any{"event": "boot_progress", "progress": "PCIResourceConfigStarted"})
	if r.Recorded != string(machine.EventTransition) || r.State != machine.StateRunning || r.BootProgress != machine.BootProgressPCIInit {
		t.Fatalf("boot progress: %+v", r)
	}
	if ev := hostRecord(t, env, r.Seq); ev.Trigger != machine.ObservedBootProgress || ev.Requester != "hostwd" {
		t.Fatalf("boot progress record %+v", ev)
	}
	if r := send(map[string]any{"event": "post_complete"}); r.BootProgress != machine.BootProgressOSStart {
		t.Fatalf("post complete: %+v", r)
	}

	r = send(map[string]any{"event": "watchdog_expired", "message": "ipmi watchdog, timer use OSLoad"})
	if r.Recorded != string(machine.EventTransition) || r.State != machine.StateRunning || !r.Rebooted || r.BootProgress != machine.BootProgressUnspecified {
		t.Fatalf("first watchdog expiry (auto-reboot): %+v", r)
	}
	ev := hostRecord(t, env, r.Seq)
	if ev.Type != machine.EventTransition || ev.Trigger != machine.ObservedWatchdogExpired || ev.From != machine.StateRunning || ev.To != machine.StateRunning ||
		ev.Requester != "hostwd" || ev.Cause != "reported on statemgr.input.host.0 by hostwd: ipmi watchdog, timer use OSLoad" {
		t.Fatalf("watchdog record %+v", ev)
	}
	attempts, err := env.Log.ReadStream(ctx, coordinator.Stream, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var used int
	for _, e := range attempts {
		if e.Type == coordinator.RecBootAttempt {
			used++
		}
	}
	if used != 1 {
		t.Fatalf("%d boot attempts recorded, want 1", used)
	}

	// The attempt is spent: the next expiry quiesces the host, with the
	// reason on record.
	r = send(map[string]any{"event": "watchdog_expired"})
	if r.State != machine.StateQuiesced || r.Rebooted || !strings.Contains(r.Detail, "boot attempts spent") {
		t.Fatalf("second watchdog expiry: %+v", r)
	}
	if ev := hostRecord(t, env, r.Seq); ev.To != machine.StateQuiesced {
		t.Fatalf("quiesce record %+v", ev)
	}
	v, err := env.System.Get(ctx, "host.0")
	if err != nil || v.Status.State != machine.StateQuiesced {
		t.Fatalf("host.0: %+v, %v", v, err)
	}
	// A report the host's state has no transition for is on record too.
	if r := send(map[string]any{"event": "post_complete"}); r.Recorded != string(machine.EventIgnored) || r.State != machine.StateQuiesced ||
		!strings.Contains(r.Detail, "no post_complete transition leaves Quiesced") {
		t.Fatalf("post complete in Quiesced: %+v", r)
	}
}

// Every bad host event is refused typed, saying what to do, and nothing
// is recorded; users without the host's grant cannot publish at all.
func TestHostEventsRefusedTyped(t *testing.T) {
	env := hostInputRig(t)
	bridge := connectAs(t, env, "bridge", "bridge-secret")
	ctx := ctxT(t)
	head, err := env.Log.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		subject, body string
		want          *server.ErrorKind
		says          string
	}{
		{"statemgr.input.host.0", `{"event": "host_crash"}`, server.ErrHostEventNotAccepted, "its input block accepts watchdog_expired, post_complete, boot_progress"},
		{"statemgr.input.host.1", `{"event": "watchdog_expired"}`, server.ErrHostEventNotAccepted, `add input { events = ["watchdog_expired"] }`},
		{"statemgr.input.host.9", `{"event": "watchdog_expired"}`, server.ErrUnknownHostInput, "its hosts are 0, 1"},
		{"statemgr.input.host.0", `{"event": "heartbeat"}`, server.ErrHostEventNotAccepted, `has no heartbeat to keep: add heartbeat = "30s"`},
		{"statemgr.input.host.0", `{}`, server.ErrBadHostEvent, `needs "event"`},
		{"statemgr.input.host.0", `{"event": "power_good_asserted"}`, server.ErrBadHostEvent, "is not a host event"},
		{"statemgr.input.host.0", `{"event": "boot_progress"}`, server.ErrBadHostEvent, `needs "progress"`},
		{"statemgr.input.host.0", `{"event": "boot_progress", "progress": "Booting"}`, server.ErrBadHostEvent, "Redfish BootProgress.LastState"},
		{"statemgr.input.host.0", `{"event": "watchdog_expired", "progress": "OSRunning"}`, server.ErrBadHostEvent, `"progress" goes only with event boot_progress`},
		{"statemgr.input.host.0", `{"event": "watchdog_expired", "message": "` + strings.Repeat("x", 300) + `"}`, server.ErrBadHostEvent, "at most 256"},
		{"statemgr.input.host.0", `{"event": "watchdog_expired", "message": "` + strings.Repeat("x", 2000) + `"}`, server.ErrPayloadTooLarge, ""},
		{"statemgr.input.host.0", `{"event": "watchdog_expired", "timer": 3}`, server.ErrUnknownField, ""},
		{"statemgr.input.host.0", `{"event": 1}`, server.ErrBadRequest, ""},
	} {
		err := bridge.RequestRaw(ctx, c.subject, []byte(c.body), nil)
		var apiErr *server.Error
		if !errors.Is(err, c.want) || !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, c.says) || apiErr.EffectiveHint() == "" {
			t.Errorf("%s %.60s: %v, want %s saying %q", c.subject, c.body, err, c.want.Name(), c.says)
		}
	}
	if after, err := env.Log.Head(ctx); err != nil || after != head {
		t.Errorf("refused events were recorded: log head %d → %d, %v", head, after, err)
	}
	// hostwd holds host 0 only, the operator no input.
	refusedPublishers(t, env, `{"event": "watchdog_expired"}`, []publisher{
		{"hostwd", "wd-secret", "statemgr.input.host.1"},
		{"op", "op-secret", "statemgr.input.host.0"},
	})
	refusedGrant(t, "host.0.1", "a grant of no host")
}

// A flood of host events is cut to the token bucket: each accepted event
// is a record in the log, so one reporter cannot fill the flash.
func TestHostEventsRateLimited(t *testing.T) {
	env := hostInputRig(t)
	wd := connectAs(t, env, "hostwd", "wd-secret")
	ctx := ctxT(t)
	var accepted, limited int
	for range server.SelfStateBurst + 10 {
		err := wd.RequestRaw(ctx, "statemgr.input.host.0", []byte(`{"event": "boot_progress", "progress": "OSRunning"}`), nil)
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, server.ErrRateLimited):
			limited++
		default:
			t.Fatal(err)
		}
	}
	if accepted < server.SelfStateBurst || accepted > server.SelfStateBurst+2 || limited == 0 {
		t.Fatalf("%d accepted, %d rate limited; want the burst of %d, then refusals", accepted, limited, server.SelfStateBurst)
	}
}

// A host whose input block has a heartbeat: its source keeps it with
// heartbeats (nothing recorded) and events; silence past the heartbeat
// while the host runs is a watchdog expiry, on the server's virtual clock,
// handled as one (auto-reboot off: Quiesced), with the silence as cause.
func TestHostHeartbeatWatchdog(t *testing.T) {
	vclk := clock.NewVirtual(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
	env := hostInputEnv(t, `input {
    events    = ["watchdog_expired", "boot_progress"]
    heartbeat = "30s"
  }`, servertest.Options{Server: server.Config{Clock: vclk}})
	wd := connectAs(t, env, "hostwd", "wd-secret")
	ctx := ctxT(t)
	env.PowerChassis(t, "chassis.0")
	env.Do(t, coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.0", ResetType: machine.RequestOn, Requester: "test"})
	head, err := env.Log.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var reply server.HostInputReply
	if err := wd.Request(ctx, "statemgr.input.host.0", map[string]any{"event": "heartbeat"}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Recorded != "" || reply.Seq != 0 || reply.State != machine.StateRunning || !strings.Contains(reply.Detail, "due within 30s") {
		t.Fatalf("heartbeat reply %+v", reply)
	}
	vclk.Advance(29 * time.Second)
	if err := wd.Request(ctx, "statemgr.input.host.0", map[string]any{"event": "boot_progress", "progress": "OSRunning"}, &reply); err != nil {
		t.Fatal(err)
	}
	vclk.Advance(29 * time.Second) // 58s since the heartbeat, 29s since the last event
	if err := wd.Request(ctx, "statemgr.input.host.0", map[string]any{"event": "heartbeat"}, &reply); err != nil {
		t.Fatal(err)
	}
	after, err := env.Log.Head(ctx)
	if err != nil || after != head+1 {
		t.Fatalf("log head %d → %d (%v), want only the boot progress recorded", head, after, err)
	}
	if v, err := env.System.Get(ctx, "host.0"); err != nil || v.Status.State != machine.StateRunning {
		t.Fatalf("host.0 within its heartbeat: %+v, %v", v, err)
	}

	vclk.Advance(30 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := env.System.Get(ctx, "host.0")
		if err != nil {
			t.Fatal(err)
		}
		if v.Status.State == machine.StateQuiesced {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host.0 %s after 30s of silence, want Quiesced", v.Status.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	evs, err := env.Log.ReadStream(ctx, "host.0", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range evs {
		rec, err := actors.DecodeRecord(e)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Event.Type == machine.EventTransition && rec.Event.Trigger == machine.ObservedWatchdogExpired {
			found = rec.Event.To == machine.StateQuiesced && strings.Contains(rec.Event.Cause, "no event on statemgr.input.host.0 for 30s (its input block's heartbeat)")
		}
	}
	if !found {
		t.Fatal("no watchdog expiry record with the heartbeat's silence as cause")
	}
	// Disarmed until the next event: more silence does nothing more.
	vclk.Advance(time.Minute)
	if n := vclk.Pending(); n != 0 {
		t.Fatalf("%d timers pending after the expiry, want the heartbeat disarmed", n)
	}
}
