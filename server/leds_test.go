package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
)

// ledsOf asks statemgr.leds.list and returns each location's LEDs by
// kind.
func ledsOf(t *testing.T, nc *nats.Conn) map[string]map[string]leds.Pattern {
	t.Helper()
	msg, err := nc.Request(server.SubjectLEDsList, []byte(`{}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var v leds.View
	if err := json.Unmarshal(msg.Data, &v); err != nil || len(v.Locations) == 0 {
		t.Fatalf("leds.list reply %s: %v", msg.Data, err)
	}
	out := map[string]map[string]leds.Pattern{}
	for _, loc := range v.Locations {
		out[string(loc.ID)] = map[string]leds.Pattern{}
		for _, l := range loc.LEDs {
			out[string(loc.ID)][string(l.Kind)] = l.Shows
		}
	}
	return out
}

// TestLEDsFollowStatesOverNATS drives host.0 of the default simulated
// platform through its states and reads the LEDs over NATS after each.
func TestLEDsFollowStatesOverNATS(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	nc := env.Connect(t)
	steps := []struct {
		name    string
		do      func()
		state   string
		power   leds.Pattern
		fault   leds.Pattern
		chassis leds.Pattern // the chassis's fault LED covers host.0
	}{
		{"start", func() {}, machine.StateOff, leds.Off, leds.Off, leds.Off},
		{"power good seen", func() {
			env.PowerChassis(t, "chassis.0")
			env.Observe(t, "host.0", machine.ObservedPowerGoodAsserted)
		}, machine.StateRunning, leds.On, leds.Off, leds.Off},
		{"host crash", func() { env.Observe(t, "host.0", machine.ObservedHostCrash) }, machine.StateQuiesced, leds.On, leds.On, leds.On},
	}
	for _, s := range steps {
		s.do()
		v, err := env.System.Get(context.Background(), "host.0")
		if err != nil {
			t.Fatal(err)
		}
		if s.state != "" && v.Status.State != s.state {
			t.Fatalf("%s: host.0 is %s, want %s", s.name, v.Status.State, s.state)
		}
		got := ledsOf(t, nc)
		if s.power != "" && got["host.0"]["power"] != s.power {
			t.Errorf("%s (%s): power LED %s, want %s", s.name, v.Status.State, got["host.0"]["power"], s.power)
		}
		if got["host.0"]["fault"] != s.fault || got["chassis.0"]["fault"] != s.chassis {
			t.Errorf("%s (%s): host fault %s, chassis fault %s; want %s, %s", s.name, v.Status.State, got["host.0"]["fault"], got["chassis.0"]["fault"], s.fault, s.chassis)
		}
		t.Logf("%s: host.0 %s, LEDs %v", s.name, v.Status.State, got["host.0"])
	}
}

func TestIdentifyOverNATS(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	nc := env.Connect(t)
	reply := func(body string) *nats.Msg {
		t.Helper()
		msg, err := nc.Request(server.SubjectLEDIdentify, []byte(body), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	var v leds.LocationView
	if err := json.Unmarshal(reply(`{"id":"host.1","active":true,"for":"5m"}`).Data, &v); err != nil || !v.Identify || v.IdentifyUntil == nil {
		t.Fatalf("identify reply %+v, %v", v, err)
	}
	if got := ledsOf(t, nc)["host.1"]["identify"]; got != leds.Blink {
		t.Errorf("identify LED %s after identify on", got)
	}
	for _, c := range []struct{ body, code string }{
		{`{"id":"bmc.0","active":true}`, "10120"},
		{`{"id":"host.1","active":true,"for":"48h"}`, "10121"},
		{`{"id":"host.1","active":true,"for":"soon"}`, "10121"},
		{`{"id":"host.1"}`, "10001"},
		{`{"id":"host.9","active":true}`, "10006"},
	} {
		if got := reply(c.body).Header.Get(server.HeaderErrorCode); got != c.code {
			t.Errorf("%s: error code %q, want %s", c.body, got, c.code)
		}
	}
	msg, err := nc.Request(server.SubjectLEDLampTest, []byte(`{"for":"1m"}`), 5*time.Second)
	if err != nil || msg.Header.Get(server.HeaderErrorCode) != "" {
		t.Fatalf("lamp test: %v %s", err, msg.Data)
	}
	if got := ledsOf(t, nc)["host.0"]; got["power"] != leds.On || got["fault"] != leds.On || got["identify"] != leds.On {
		t.Errorf("lamp test leaves host.0's LEDs %v", got)
	}
}
