package actors_test

import (
	"errors"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
)

func TestParseID(t *testing.T) {
	for _, ok := range []string{"host.0", "chassis.0", "bmc.0", "service.sync-agent", "service.a_b"} {
		id, err := actors.ParseID(ok)
		if err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
		if string(id) != ok || id.Kind()+"."+id.Name() != ok {
			t.Errorf("%q parsed as %q (%s.%s)", ok, id, id.Kind(), id.Name())
		}
	}
	for _, bad := range []string{"", "host", "host.", "rack.0", "host.-1", "host.a.b", "host.a b", "Host.0", "host.é"} {
		if _, err := actors.ParseID(bad); !errors.Is(err, actors.ErrBadID) {
			t.Errorf("%q accepted (err %v)", bad, err)
		}
	}
}

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// record builds a stream event for a record at seq.
func record(t *testing.T, seq uint64, typ machine.EventType, from, to, trigger string, at time.Duration) events.Event {
	t.Helper()
	e := actors.EncodeRecord(actors.Record{
		Event:  machine.Event{Type: typ, Machine: "host", From: from, To: to, Trigger: trigger, Time: t0.Add(at)},
		Status: machine.Status{State: to, Since: t0.Add(at)},
	})
	e.Stream, e.StreamSeq = "host.0", seq
	return e
}

func hostLog(t *testing.T) []events.Event {
	return []events.Event{
		record(t, 1, actors.EventCreated, "", machine.StateOff, "", 0),
		record(t, 2, machine.EventTransition, machine.StateOff, machine.StateTransitioningToRunning, machine.RequestOn, 10*time.Second),
		record(t, 3, machine.EventTransition, machine.StateTransitioningToRunning, machine.StateRunning, machine.ObservedPowerGoodAsserted, 12*time.Second),
		record(t, 4, machine.EventTransition, machine.StateRunning, machine.StateRunning, machine.RequestForceRestart, 20*time.Second),
		record(t, 5, machine.EventTransition, machine.StateRunning, machine.StateTransitioningToOff, machine.RequestGracefulShutdown, 60*time.Second),
	}
}

func TestHistoryAndStatistics(t *testing.T) {
	h, err := actors.HistoryOf(hostLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 5 || h[0].From != "" || h[1].Trigger != machine.RequestOn || h[4].Seq != 5 {
		t.Fatalf("history %+v", h)
	}
	s := actors.Statistics(h, t0.Add(100*time.Second))
	want := map[string]time.Duration{
		machine.StateOff:                    10 * time.Second,
		machine.StateTransitioningToRunning: 2 * time.Second,
		machine.StateRunning:                48 * time.Second, // the restart self-loop does not end the stay
		machine.StateTransitioningToOff:     40 * time.Second,
	}
	for state, d := range want {
		if s.TimeInState[state] != d {
			t.Errorf("time in %s = %v, want %v", state, s.TimeInState[state], d)
		}
	}
	if s.Transitions != 3 || s.Entered[machine.StateRunning] != 1 {
		t.Errorf("stats %+v: want 3 state changes and Running entered once", s)
	}
}

func TestCheckLog(t *testing.T) {
	host := machine.Host(machine.DefaultHostConfig())
	if err := actors.CheckLog(host, hostLog(t)); err != nil {
		t.Fatalf("a valid log: %v", err)
	}
	cases := map[string][]events.Event{
		"no creation": hostLog(t)[1:],
		"gap in states": append(hostLog(t)[:2],
			record(t, 3, machine.EventTransition, machine.StateRunning, machine.StateOff, machine.RequestForceOff, time.Minute)),
		"undeclared transition": append(hostLog(t)[:1],
			record(t, 2, machine.EventTransition, machine.StateOff, machine.StateRunning, machine.RequestOn, time.Minute)),
		"timeout to the wrong state": append(hostLog(t)[:2],
			record(t, 3, machine.EventTransition, machine.StateTransitioningToRunning, machine.StateOff, machine.TriggerTimeout, time.Minute)),
	}
	for name, evs := range cases {
		if err := actors.CheckLog(host, evs); !errors.Is(err, actors.ErrInconsistentLog) {
			t.Errorf("%s: %v, want ErrInconsistentLog", name, err)
		}
	}
	bad := hostLog(t)
	bad[2].Schema = 9
	if err := actors.CheckLog(host, bad); !errors.Is(err, events.ErrUnknownVersion) {
		t.Errorf("future record schema: %v", err)
	}
	for _, schema := range []uint16{actors.RecordSchemaJSON, actors.RecordSchema} {
		bad[2].Schema, bad[2].Payload = schema, []byte("{not json")
		if err := actors.CheckLog(host, bad); !errors.Is(err, events.ErrCorrupt) {
			t.Errorf("garbled payload of schema %d: %v", schema, err)
		}
	}
}
