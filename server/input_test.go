package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/inputs"
	"github.com/statemgr/statemgr/server/servertest"
)

// fakeThermalEnv, when set, makes the test binary a fake thermal manager:
// it connects to the NATS URL in it as user thermalmgr and publishes a
// critical report for zone cpu, as a separate process would.
const fakeThermalEnv = "STATEMGR_TEST_FAKE_THERMALMGR"

func TestMain(m *testing.M) {
	if url := os.Getenv(fakeThermalEnv); url != "" {
		os.Exit(fakeThermalManager(url))
	}
	os.Exit(m.Run())
}

func fakeThermalManager(url string) int {
	nc, err := nats.Connect(url, client.UserInfo("thermalmgr", "thermal-secret"), nats.Name("fake thermalmgr"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake thermalmgr:", err)
		return 1
	}
	defer nc.Close()
	// A plain publish, as u-bmc's services publish their alerts.
	if err := nc.Publish("statemgr.input.thermal.cpu", []byte(`{"celsius": 97.5, "sensor": "cpu0_dts"}`)); err != nil {
		fmt.Fprintln(os.Stderr, "fake thermalmgr:", err)
		return 1
	}
	if err := nc.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "fake thermalmgr:", err)
		return 1
	}
	return 0
}

const inputBlocks = `
input "thermal" "cpu" {
  hosts       = ["0"]
  warning     = 75
  critical    = 90
  stale_after = "10s"
}
input "health" "vr0" {
  stale_after             = "10s"
  unknown_blocks_power_on = false
}
`

func inputPlatform(t *testing.T) *platform.Platform {
	t.Helper()
	p, err := platform.Parse("inputs.hcl", append(platform.DefaultSource(), inputBlocks...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// inputRig is the simulated platform with two inputs whose staleness runs
// on a virtual clock, and users for a thermal manager and an operator.
func inputRig(t *testing.T) (*servertest.Env, *clock.Virtual, *inputs.Store) {
	t.Helper()
	plat := inputPlatform(t)
	vclk := clock.NewVirtual(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	store := inputs.New(plat, vclk, nil)
	env := servertest.Start(t, servertest.Options{Platform: plat, Inputs: store, Users: []server.User{
		{Name: "thermalmgr", Password: "thermal-secret", Role: server.RoleService, Service: "demo", Inputs: []string{"thermal.*"}},
		{Name: "sensormon", Password: "sensor-secret", Role: server.RoleViewer, Inputs: []string{"health.vr0"}},
		{Name: "op", Password: "op-secret", Role: server.RoleOperator},
	}})
	return env, vclk, store
}

func connectAs(t *testing.T, env *servertest.Env, user, password string) *client.Client {
	t.Helper()
	return client.New(env.Connect(t, client.UserInfo(user, password)))
}

// publisher is a user of the test's NATS server and a subject it sends to.
type publisher struct{ user, password, subject string }

// refusedPublishers checks that none of them may send body to its subject:
// the server's permissions drop the request, so it gets no reply.
func refusedPublishers(t *testing.T, env *servertest.Env, body string, pubs []publisher) {
	t.Helper()
	for _, p := range pubs {
		c := connectAs(t, env, p.user, p.password)
		short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := c.RequestRaw(short, p.subject, []byte(body), nil)
		cancel()
		if err == nil {
			t.Errorf("%s may publish %s", p.user, p.subject)
		}
	}
}

// refusedGrant checks that a user's input grant naming nothing is refused
// when the NATS server is configured.
func refusedGrant(t *testing.T, grant, what string) {
	t.Helper()
	if _, err := server.StartNATS(server.NATSConfig{Port: -1, Users: []server.User{{Name: "x", Password: "y", Role: server.RoleViewer, Inputs: []string{grant}}}}); err == nil || !strings.Contains(err.Error(), "input grant") {
		t.Errorf("%s (%q): %v", what, grant, err)
	}
}

func powerOn(t *testing.T, env *servertest.Env, host string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := env.Coordinator.Do(ctx, coordinator.Request{Kind: coordinator.HostPowerOn, Target: actors.ID(host), ResetType: machine.RequestOn, Requester: "test"})
	return err
}

func interlockOf(t *testing.T, err error) *coordinator.InterlockError {
	t.Helper()
	var il *coordinator.InterlockError
	if !errors.As(err, &il) {
		t.Fatalf("power-on not refused by an interlock: %v", err)
	}
	return il
}

// Each input on the simulated platform, its staleness on the virtual clock:
// never reported blocks (the thermal block's default), a fresh normal
// report lets the power-on through, warning refuses it, silence past
// stale_after refuses it again; the health input, whose block says unknown
// does not block, refuses only when it reports critical.
func TestInputsFeedTheInterlocks(t *testing.T) {
	env, vclk, _ := inputRig(t)
	thermal := connectAs(t, env, "thermalmgr", "thermal-secret")
	sensors := connectAs(t, env, "sensormon", "sensor-secret")
	ctx := ctxT(t)
	// The chassis powers host 0, which the thermal input concerns.
	_, err := env.Coordinator.Do(ctx, coordinator.Request{Kind: coordinator.ChassisPowerOn, Target: "chassis.0", Requester: "test"})
	il := interlockOf(t, err)
	if il.Interlock != coordinator.InterlockThermal || !strings.Contains(il.Reason, "input thermal.cpu is unknown") || !strings.Contains(il.Reason, "no report since statemgrd started") {
		t.Fatalf("never-reported input: %v", il)
	}

	var reply server.InputReply
	if err := thermal.Request(ctx, "statemgr.input.thermal.cpu", map[string]any{"level": "normal"}, &reply); err != nil {
		t.Fatal(err)
	}
	env.PowerChassis(t, "chassis.0")
	if err := thermal.Request(ctx, "statemgr.input.thermal.cpu", map[string]any{"celsius": 80.0}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Level != coordinator.LevelWarning || !strings.Contains(reply.Detail, "reported by thermalmgr") {
		t.Fatalf("warning report: %+v", reply)
	}
	if il := interlockOf(t, powerOn(t, env, "host.0")); il.Interlock != coordinator.InterlockThermal || !strings.Contains(il.Reason, "reports warning") {
		t.Fatalf("warning input: %v", il)
	}

	// A level below what the reading says is not believed.
	if err := thermal.Request(ctx, "statemgr.input.thermal.cpu", map[string]any{"celsius": 80.0, "level": "normal"}, &reply); err != nil || reply.Level != coordinator.LevelWarning {
		t.Fatalf("understated report: %+v, %v", reply, err)
	}

	if err := thermal.Request(ctx, "statemgr.input.thermal.cpu", map[string]any{"celsius": 41.0}, &reply); err != nil || reply.Level != coordinator.LevelNormal {
		t.Fatalf("normal report: %+v, %v", reply, err)
	}
	vclk.Advance(9 * time.Second) // within stale_after
	if err := powerOn(t, env, "host.0"); err != nil {
		t.Fatalf("power-on with a fresh normal report: %v", err)
	}

	// Silence past stale_after: host 1 is not the thermal input's, so
	// only the health input concerns it, and its block lets unknown pass.
	vclk.Advance(2 * time.Second)
	if err := powerOn(t, env, "host.1"); err != nil {
		t.Fatalf("host.1 with the health input unknown (not blocking) and the thermal input not its: %v", err)
	}
	if err := sensors.Request(ctx, "statemgr.input.health.vr0", map[string]any{"level": "critical", "message": "VR0 OC fault"}, &reply); err != nil {
		t.Fatal(err)
	}
	env.Do(t, coordinator.Request{Kind: coordinator.HostForceOff, Target: "host.1", Requester: "test"})
	if il := interlockOf(t, powerOn(t, env, "host.1")); il.Interlock != coordinator.InterlockHealth || !strings.Contains(il.Reason, "input health.vr0 reports critical") {
		t.Fatalf("critical health input: %v", il)
	}

	env.Do(t, coordinator.Request{Kind: coordinator.HostForceOff, Target: "host.0", Requester: "test"})
	il = interlockOf(t, powerOn(t, env, "host.0"))
	if il.Interlock != coordinator.InterlockThermal || !strings.Contains(il.Reason, "input thermal.cpu is unknown (last report 11s ago by thermalmgr, stale after 10s") {
		t.Fatalf("stale input: %v", il)
	}
}

// Bad reports are refused with typed errors, and users without the grant
// cannot publish on an input subject at all.
func TestInputReportsRefusedTyped(t *testing.T) {
	env, _, _ := inputRig(t)
	thermal := connectAs(t, env, "thermalmgr", "thermal-secret")
	ctx := ctxT(t)
	for _, c := range []struct {
		subject, body string
		want          *server.ErrorKind
	}{
		{"statemgr.input.thermal.cpu", `{}`, server.ErrBadInputReport},
		{"statemgr.input.thermal.cpu", `{"level": "hot"}`, server.ErrBadInputReport},
		{"statemgr.input.thermal.cpu", `{"celsius": 5000}`, server.ErrBadInputReport},
		{"statemgr.input.thermal.cpu", `{"celsius": "90"}`, server.ErrBadRequest},
		{"statemgr.input.thermal.cpu", `{"celsius": 50, "fan": 3}`, server.ErrUnknownField},
		{"statemgr.input.thermal.cpu", `{"celsius": 50, "message": "` + strings.Repeat("x", 300) + `"}`, server.ErrBadInputReport},
		{"statemgr.input.thermal.cpu", `{"message": "` + strings.Repeat("x", 2000) + `"}`, server.ErrPayloadTooLarge},
		{"statemgr.input.thermal.gpu", `{"celsius": 50}`, server.ErrUnknownInput},
	} {
		err := thermal.RequestRaw(ctx, c.subject, []byte(c.body), nil)
		if !errors.Is(err, c.want) {
			t.Errorf("%s %.60s: %v, want %s", c.subject, c.body, err, c.want.Name())
		}
	}
	// The thermal manager holds no health grant, the operator no input.
	refusedPublishers(t, env, `{"level": "critical"}`, []publisher{
		{"thermalmgr", "thermal-secret", "statemgr.input.health.vr0"},
		{"op", "op-secret", "statemgr.input.thermal.cpu"},
	})
	refusedGrant(t, "fans.*", "a grant of no input kind")
}

// A fake thermal manager — another process, over a real NATS connection
// with its own user — reports zone cpu critical: the coordinator's thermal
// emergency shuts the hosts down.
func TestExternalThermalEmergencyFromAnotherProcess(t *testing.T) {
	env, _, _ := inputRig(t)
	thermal := connectAs(t, env, "thermalmgr", "thermal-secret")
	ctx := ctxT(t)
	var reply server.InputReply
	if err := thermal.Request(ctx, "statemgr.input.thermal.cpu", map[string]any{"celsius": 40.0}, &reply); err != nil {
		t.Fatal(err)
	}
	env.PowerChassis(t, "chassis.0")
	for _, h := range []string{"host.0", "host.1"} {
		if err := powerOn(t, env, h); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fakeThermalEnv+"="+env.URL)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fake thermal manager: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		states := map[string]string{}
		off := true
		for _, id := range []string{"host.0", "host.1", "chassis.0"} {
			v, err := env.System.Get(ctx, actors.ID(id))
			if err != nil {
				t.Fatal(err)
			}
			states[id] = v.Status.State
			off = off && v.Status.State == machine.StateOff
		}
		if off {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hosts not shut down by the external thermal emergency: %v", states)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The emergency is the coordinator's, with the input's evidence.
	evs, err := env.Log.ReadStream(ctx, coordinator.Stream, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range evs {
		if e.Type == coordinator.RecEmergency {
			r, err := coordinator.DecodeRecord(e)
			if err != nil {
				t.Fatal(err)
			}
			found = r.Emergency == coordinator.ThermalCritical && strings.Contains(strings.Join(r.Evidence, " "), "input thermal.cpu reports critical (97.5 °C") &&
				strings.Contains(strings.Join(r.Evidence, " "), "reported by thermalmgr")
		}
	}
	if !found {
		t.Fatalf("no thermal emergency with the input's evidence in the coordinator's log")
	}
}
