package server_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// TestPSUReadingsOfTheSimulatedPlatform: a viewer reads every PSU, or one,
// and gets the simulated PSUs' own values with unit, raw word, format and
// time; a PSU that does not answer says so in each reading; an unknown
// PSU is ErrUnknownPSU.
func TestPSUReadingsOfTheSimulatedPlatform(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: users})
	ctx := ctxT(t)
	viewer := client.New(env.Connect(t, client.UserInfo("vera", "viewer-pw")))
	env.PowerChassis(t, "chassis.0")

	var all server.PSUReadingsReply
	if err := viewer.Request(ctx, server.SubjectPSUReadings, server.PSUReadingsRequest{}, &all); err != nil {
		t.Fatal(err)
	}
	if len(all.PSUs) != 2 || all.PSUs[0].ID != "psu0" || all.PSUs[1].ID != "psu1" || all.More {
		t.Fatalf("psus = %+v, want psu0 and psu1", all)
	}
	for _, p := range all.PSUs {
		sim, err := env.Sim.PSU(p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{"vin": sim.VinVolts, "vout": sim.VoutVolts, "iout": sim.IoutAmps, "temperature": sim.TempC}
		units := map[string]string{"vin": "V", "vout": "V", "iout": "A", "temperature": "°C"}
		if p.Chassis != "chassis.0" || len(p.Readings) != len(want) {
			t.Fatalf("%s = %+v", p.ID, p)
		}
		for _, r := range p.Readings {
			if r.Error != "" || r.Value == nil || r.Raw == nil || r.Unit != units[r.Quantity] || r.Time.IsZero() || r.Format == "" {
				t.Errorf("%s %s = %+v", p.ID, r.Quantity, r)
				continue
			}
			if math.Abs(*r.Value-want[r.Quantity]) > math.Abs(want[r.Quantity])/256 {
				t.Errorf("%s %s = %v, the simulation says %v", p.ID, r.Quantity, *r.Value, want[r.Quantity])
			}
		}
		if p.Status.Error != "" || p.Status.Word == nil || *p.Status.Word != sim.StatusWord || p.Status.PowerGood == nil {
			t.Errorf("%s status = %+v, the simulation says 0x%04X", p.ID, p.Status, sim.StatusWord)
		}
	}

	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu1"}); err != nil {
		t.Fatal(err)
	}
	var one server.PSUReadingsReply
	if err := viewer.Request(ctx, server.SubjectPSUReadings, server.PSUReadingsRequest{ID: "psu1"}, &one); err != nil {
		t.Fatal(err)
	}
	if len(one.PSUs) != 1 || one.PSUs[0].ID != "psu1" {
		t.Fatalf("psu1 alone = %+v", one)
	}
	for _, r := range one.PSUs[0].Readings {
		if r.Error == "" || r.Value != nil || !strings.Contains(one.PSUs[0].Readings[0].Error, "psu1") {
			t.Errorf("psu1 %s with the bus NAKing = %+v, want an error naming psu1", r.Quantity, r)
		}
	}
	if one.PSUs[0].Status.Error == "" || one.PSUs[0].Status.Word != nil {
		t.Errorf("psu1 status with the bus NAKing = %+v, want an error", one.PSUs[0].Status)
	}

	if err := viewer.Request(ctx, server.SubjectPSUReadings, server.PSUReadingsRequest{ID: "psu9"}, nil); !errors.Is(err, server.ErrUnknownPSU) || !strings.Contains(err.Error(), "psu0, psu1") {
		t.Fatalf("psu9: %v, want %s listing psu0, psu1", err, server.ErrUnknownPSU.Constant)
	}
	if err := viewer.Request(ctx, server.SubjectPSUReadings, server.PSUReadingsRequest{Limit: server.MaxPSUPage + 1}, nil); !errors.Is(err, server.ErrBadRequest) {
		t.Fatalf("limit past the page: %v, want %s", err, server.ErrBadRequest.Constant)
	}
}

// TestUnreachablePSUOverTheAPI (the simulation, daemon assembly): with
// psu1 NAKing every transaction, host power-off still works, a power-on
// is refused by the psu_unreachable interlock naming psu1, and chassis.0's
// log holds the psu_unreachable observation with the bus error as
// evidence.
func TestUnreachablePSUOverTheAPI(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := ctxT(t)
	cl := client.New(env.Connect(t))
	env.PowerChassis(t, "chassis.0")
	var on server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Wait: "30s"}, &on); err != nil || on.Outcome == nil || on.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("host.0 on: %+v, %v", on, err)
	}
	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu1"}); err != nil {
		t.Fatal(err)
	}
	var off server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOff, server.ControlRequest{ID: "host.0", Wait: "30s"}, &off); err != nil || off.Outcome == nil || off.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("host.0 off with psu1 silent: %+v, %v; want it done", off, err)
	}
	err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Wait: "30s"}, nil)
	var apiErr *server.Error
	if !errors.As(err, &apiErr) || !errors.Is(err, server.ErrInterlock) || apiErr.Refusal == nil || apiErr.Refusal.Interlock != "psu_unreachable" ||
		apiErr.Refusal.Overridable || !strings.Contains(apiErr.Message, "psu1 cannot be read") {
		t.Fatalf("host.0 on with psu1 silent: %v (%+v); want interlock psu_unreachable naming psu1", err, apiErr)
	}
	var seen bool
	for deadline := time.Now().Add(10 * time.Second); !seen && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var page server.ReplayReply
		if err := cl.Request(ctx, server.SubjectLogReplay, server.ReplayRequest{Filter: server.EventFilter{Component: "chassis.0", Type: "ignored_observation"}}, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			seen = seen || (e.Trigger == "psu_unreachable" && strings.Contains(e.Cause, "psu1") && strings.Contains(e.Cause, "NAK"))
		}
	}
	if !seen {
		t.Fatal("chassis.0's log has no psu_unreachable observation naming psu1 and the NAK")
	}
}

// TestSilentPSUStandingAlertOverTheAPI: a PSU that stops answering is a
// standing alert in statemgr.alerts.list (kind psu_unreachable, the PSU,
// its chassis and the bus error) and an event on statemgr.events.alerts
// whose record is already in the log when it arrives; when the PSU
// answers again the alert is gone from the list and the clearing is
// published on the same subject. Before, the list held parked operations
// only.
func TestSilentPSUStandingAlertOverTheAPI(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	ctx := ctxT(t)
	nc := env.Connect(t)
	cl := client.New(nc)
	env.PowerChassis(t, "chassis.0")
	sub, err := nc.SubscribeSync(server.SubjectEventsAlerts)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	next := func(want string) server.Event {
		t.Helper()
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("no %s on %s: %v", want, server.SubjectEventsAlerts, err)
		}
		var ev server.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != want || ev.Target != "psu1" || ev.ID != "coordinator" {
			t.Fatalf("event on %s = %+v, want %s of psu1", server.SubjectEventsAlerts, ev, want)
		}
		// Logged before it was published: the record is at its seq.
		logged, err := env.Log.ReadAll(ctx, ev.Seq, 1)
		if err != nil || len(logged) != 1 || logged[0].Type != want {
			t.Fatalf("log at seq %d = %+v, %v; want the %s published", ev.Seq, logged, err, want)
		}
		return ev
	}

	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu1"}); err != nil {
		t.Fatal(err)
	}
	_ = env.Coordinator.Reconcile(ctx) // incomplete: psu1 is silent
	raised := next("psu_unreachable")
	if !strings.Contains(raised.Alert, "psu1 does not answer") {
		t.Errorf("published alert %q does not say psu1 does not answer", raised.Alert)
	}
	list, err := client.AlertsAll(ctx, cl.Request)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Alerts) != 1 {
		t.Fatalf("standing alerts with psu1 silent = %+v, want psu1's", list)
	}
	a := list.Alerts[0]
	if a.Kind != "psu_unreachable" || a.ID != "psu1" || a.Chassis != "chassis.0" || a.Operation != "" || a.Since.IsZero() ||
		!strings.Contains(a.Alert, "psu1 does not answer") || !strings.Contains(a.Alert, "NAK") || a.Key() != "psu_unreachable/psu1" {
		t.Fatalf("standing alert %+v: want psu1 of chassis.0, silent since, with the NAK", a)
	}

	if err := env.Sim.Clear(simhw.BusNAK, "psu1"); err != nil {
		t.Fatal(err)
	}
	if err := env.Coordinator.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	next("psu_answers")
	if list, err = client.AlertsAll(ctx, cl.Request); err != nil || len(list.Alerts) != 0 {
		t.Fatalf("standing alerts once psu1 answers = %+v, %v; want none", list, err)
	}
}
