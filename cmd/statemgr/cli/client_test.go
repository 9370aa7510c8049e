package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCLI executes the CLI with args against the server at url.
func runCLI(ctx context.Context, url string, out *syncBuffer, args ...string) error {
	root := newRootCommand(testVersion)
	root.SetArgs(append([]string{"-s", url, "--timeout", "3s"}, args...))
	root.SetOut(out)
	root.SetErr(out)
	return root.ExecuteContext(ctx)
}

func mustRun(t *testing.T, url string, args ...string) string {
	t.Helper()
	var out syncBuffer
	if err := runCLI(context.Background(), url, &out, args...); err != nil {
		t.Fatalf("statemgr %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestCLIPowerOnAndTail(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.PowerChassis(t, "chassis.0")

	// tail -f from the start runs while the host is powered on.
	ctx, cancel := context.WithCancel(context.Background())
	var tailOut syncBuffer
	tailDone := make(chan error, 1)
	go func() { tailDone <- runCLI(ctx, env.URL, &tailOut, "tail", "-f", "--from", "start", "-o", "json") }()

	out := mustRun(t, env.URL, "power", "on", "host.0", "--operation", "cli-op-1", "--wait", "5s")
	if !strings.Contains(out, "host.0: On accepted") || !strings.Contains(out, "outcome: succeeded, state Running") {
		t.Fatalf("power on printed %q", out)
	}
	env.WaitPublished(t)

	var comp server.Component
	if err := json.Unmarshal([]byte(mustRun(t, env.URL, "get", "host.0", "-o", "json")), &comp); err != nil || comp.State != "Running" {
		t.Fatalf("get host.0: %+v, %v", comp, err)
	}
	// ALLOWED is what the server accepts now: host.1 is Off beside a chassis that is On.
	if out := mustRun(t, env.URL, "list"); !strings.Contains(out, "host.0") || !strings.Contains(out, "Running") || !strings.Contains(out, "chassis.0") ||
		!regexp.MustCompile(`(?m)^host\.1 .*ForceOn, On, PushPowerButton$`).MatchString(out) {
		t.Fatalf("list printed %q", out)
	}
	if out := mustRun(t, env.URL, "operation", "cli-op-1"); !strings.Contains(out, "outcome:   succeeded, state Running") {
		t.Fatalf("operation printed %q", out)
	}
	if out := mustRun(t, env.URL, "history", "host.0"); !strings.Contains(out, "TransitioningToRunning") || !strings.Contains(out, "2 state changes") {
		t.Fatalf("history printed %q", out)
	}
	if out := mustRun(t, env.URL, "status"); !strings.Contains(out, "statemgr 0.1.0") {
		t.Fatalf("status printed %q", out)
	}

	head, _ := env.Log.Head(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(tailOut.String(), `"seq":`+itoa(head)+`,`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-tailDone; err != nil {
		t.Fatalf("tail: %v", err)
	}
	var seqs []uint64
	var tos []string
	for _, line := range strings.Split(strings.TrimSpace(tailOut.String()), "\n") {
		var ev server.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("tail -o json line %q: %v", line, err)
		}
		seqs = append(seqs, ev.Seq)
		// Self-transitions (Running on POST complete or boot progress) come
		// when the simulated host reports them, before or after head was
		// read: only changes of state are counted.
		if ev.ID == "host.0" && ev.Type == "transition" && ev.From != ev.To {
			tos = append(tos, ev.To)
		}
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("tail seqs %v: gap or duplicate at %d", seqs, i)
		}
	}
	// The simulated host may report POST complete (a Running -> Running
	// transition) after head was read and before the tail stopped: the
	// tail then rightly printed more than head events, so only fewer fail.
	if uint64(len(seqs)) < head || strings.Join(tos, ",") != "TransitioningToRunning,Running" {
		t.Fatalf("tail printed seqs %v, host.0 transitions %v (head %d)", seqs, tos, head)
	}

	// Human lines, no colour off a terminal.
	text := mustRun(t, env.URL, "tail", "--component", "host.0", "--type", "transition")
	if !strings.Contains(text, "Off -> TransitioningToRunning") || strings.Contains(text, "\x1b[") {
		t.Fatalf("tail text printed %q", text)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestCLIErrors(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: []server.User{
		{Name: "vera", Password: "pw", Role: server.RoleViewer},
		{Name: "otto", Password: "pw", Role: server.RoleOperator},
	}})
	env.PowerChassis(t, "chassis.0")
	env.Do(t, coordinator.Request{Kind: coordinator.HostPowerOn, Target: "host.1"})
	ctx := context.Background()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-s", "nats://127.0.0.1:1", "list"}, []string{"no statemgr server at nats://127.0.0.1:1", "is statemgrd running?", "go run ./cmd/statemgrd"}},
		{[]string{"list"}, []string{"refused the credentials", "--user"}},
		{[]string{"--user", "otto", "--password", "pw", "get", "host.9"}, []string{"unknown_component", "code 10006", "hint: statemgr list"}},
		{[]string{"--user", "otto", "--password", "pw", "power", "off", "chassis.0"}, []string{"hosts_not_off", "code 10019", "hosts not Off: host.1", "hint:"}},
		{[]string{"--user", "otto", "--password", "pw", "power", "on", "host.0", "--override", "fans"}, []string{"bad_request", "not an interlock"}},
		{[]string{"--user", "otto", "--password", "pw", "service", "stop", "demo"}, []string{"rejected", "state: Stopped; allowed:", "hint:"}},
		{[]string{"--user", "vera", "--password", "pw", "power", "on", "host.0"}, []string{"permission denied", "statemgr.host.power.on"}},
		{[]string{"--user", "otto", "--password", "pw", "reset", "host.0", "--type", "Reboot"}, []string{"--type \"Reboot\""}},
		{[]string{"get", "chassis0"}, []string{"invalid component id"}},
		{[]string{"--user", "otto", "--password", "pw", "service", "start", "nope"}, []string{"unknown_component"}},
	}
	for _, tc := range cases {
		var out syncBuffer
		args := tc.args
		url := env.URL
		if args[0] == "-s" {
			url, args = args[1], args[2:]
		}
		err := runCLI(ctx, url, &out, args...)
		if err == nil {
			t.Errorf("statemgr %v succeeded: %s", tc.args, out.String())
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("statemgr %v: error %q lacks %q", tc.args, err, w)
			}
		}
	}
	if head, _ := env.Log.StreamHead(ctx, "host.0"); head != 1 {
		t.Fatalf("host.0 changed by refused commands: head %d", head)
	}
}

func TestCLIControlCommands(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339) // within the server's scheduling horizon
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bmc", "maintenance", "on", "--wait", "1s"}, "outcome: succeeded, state Maintenance"},
		{[]string{"power", "on", "host.0", "--override", "maintenance", "--power-chassis", "--wait", "5s"}, "outcome: succeeded, state Running"},
		{[]string{"bmc", "maintenance", "off", "bmc.0", "--queue", "--wait", "5s"}, "outcome: succeeded, state Ready"},
		{[]string{"power", "on", "chassis.0", "--wait", "5s"}, "outcome: succeeded, state On"},
		{[]string{"reset", "host.1", "--type", "ForceOn", "--wait", "5s"}, "host.1: ForceOn accepted"},
		{[]string{"power", "off", "host.1", "--force", "--wait", "5s"}, "outcome: succeeded, state Off"},
		{[]string{"power", "cycle", "host.0", "--wait", "5s"}, "outcome: succeeded, state Running"},
		{[]string{"power", "off", "host.0", "--at", at}, "host.0: GracefulShutdown scheduled for " + at},
		{[]string{"reset", "bmc.0", "--type", "ForceRestart"}, "bmc.0: ForceRestart accepted, state Rebooting"},
	} {
		if out := mustRun(t, env.URL, tc.args...); !strings.Contains(out, tc.want) {
			t.Errorf("statemgr %v printed %q, want %q", tc.args, out, tc.want)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if out := mustRun(t, env.URL, "completion", shell); !strings.Contains(out, "statemgr") {
			t.Errorf("completion %s printed nothing useful", shell)
		}
	}
}

// TestCLIAlerts: `statemgr alerts` lists an operation parked in failure
// until `statemgr acknowledge` clears it.
func TestCLIAlerts(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	if out := mustRun(t, env.URL, "alerts"); !strings.Contains(out, "no standing alerts") {
		t.Fatalf("statemgr alerts on a fresh server printed %q", out)
	}
	for _, id := range []string{"chassis.0", "host.0", "host.1"} {
		mustRun(t, env.URL, "power", "on", id, "--wait", "10s")
	}
	// host.0's button is dead and its rail shared: the off ladder parks.
	if err := env.Sim.Inject(simhw.Fault{Kind: simhw.ButtonStuckDeasserted, Target: "0"}); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	_ = runCLI(context.Background(), env.URL, &out, "power", "off", "host.0", "--wait", "1m", "-o", "json")
	var reply server.ControlReply
	if err := json.Unmarshal([]byte(out.String()), &reply); err != nil || reply.Outcome == nil || reply.Outcome.Alert == "" {
		t.Fatalf("power off with a dead button printed %q (%v); want an outcome with an alert", out.String(), err)
	}
	listed := mustRun(t, env.URL, "alerts")
	if !strings.Contains(listed, reply.Operation) || !strings.Contains(listed, "host.0") || !strings.Contains(listed, reply.Outcome.Alert) {
		t.Fatalf("statemgr alerts printed %q, want %s on host.0 with its alert", listed, reply.Operation)
	}
	mustRun(t, env.URL, "acknowledge", reply.Operation)
	if out := mustRun(t, env.URL, "alerts"); !strings.Contains(out, "no standing alerts") {
		t.Fatalf("statemgr alerts after the acknowledgement printed %q", out)
	}
}

// TestCLIPSU: `statemgr psu` reads every PSU of the simulated platform,
// `statemgr psu psu1` one, and an unknown PSU fails naming the known ones.
func TestCLIPSU(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	out := mustRun(t, env.URL, "psu")
	for _, want := range []string{"psu0", "psu1", "chassis.0", "vin", "vout", "iout", "temperature", "status", " V ", "linear11", "linear16"} {
		if !strings.Contains(out, want) {
			t.Errorf("statemgr psu printed no %q:\n%s", want, out)
		}
	}
	one := mustRun(t, env.URL, "psu", "psu1")
	if strings.Contains(one, "psu0") || !strings.Contains(one, "psu1") {
		t.Errorf("statemgr psu psu1 printed:\n%s", one)
	}
	var buf syncBuffer
	err := runCLI(context.Background(), env.URL, &buf, "psu", "psu9")
	if err == nil || !strings.Contains(err.Error()+buf.String(), "psu0, psu1") {
		t.Fatalf("statemgr psu psu9: %v %q, want an error listing psu0, psu1", err, buf.String())
	}
}
