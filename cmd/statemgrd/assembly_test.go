package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/server/client"
)

// logLine is one line of the daemon's JSON log, as far as these tests read
// it.
type logLine struct {
	Message   string `json:"@message"`
	Stage     string `json:"stage"`
	Component string `json:"component"`
}

// ansiColour matches the colour codes hclog writes around lines.
var ansiColour = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// daemonLog parses the daemon's JSON log.
func daemonLog(t *testing.T, text string) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range strings.Split(ansiColour.ReplaceAllString(text, ""), "\n") {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var line logLine
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, line)
	}
	return out
}

// stagesOf returns the stages the daemon logged, in order.
func stagesOf(lines []logLine) []assembly.Stage {
	var out []assembly.Stage
	for _, l := range lines {
		if l.Message == "stage" {
			out = append(out, assembly.Stage(l.Stage))
		}
	}
	return out
}

// bootStages are the assembly's start stages, with the BMC boot's if
// booted.
func bootStages(booted bool) []assembly.Stage {
	out := []assembly.Stage{assembly.StageDevices, assembly.StageComponents}
	if booted {
		out = append(out, assembly.StageBMCBoot, assembly.StageBMCReady)
	}
	return append(out, assembly.StageCoordinator, assembly.StageReconciliation, assembly.StageRunning, assembly.StageServices)
}

var shutdownStages = []assembly.Stage{assembly.StageStopCoordinator, assembly.StageStopServices, assembly.StageStopDevices, assembly.StageStopComponents}

// Ensure the daemon boots and shuts down in the assembly's order, as its
// log shows: on a new BMC boot the boot is recorded and the BMC made
// Ready, the metrics are seeded from the recovered components before the
// boot is logged, the services resume last; a daemon restart within the
// same boot records no BMC boot; SIGTERM stops the coordinator, the
// services through their machines, the devices, then the components.
func TestDaemonBootsInTheAssemblysOrder(t *testing.T) {
	dir, httpAddr := t.TempDir(), freeAddr(t)
	args := []string{"-data-dir", dir, "-http-listen", httpAddr, "-nats-listen", freeAddr(t), "-log-format", "json"}
	for round, booted := range []bool{true, false} {
		var stderr syncBuffer
		code := make(chan int, 1)
		go func() { code <- run(args, &bytes.Buffer{}, &stderr) }()
		waitReady(t, "http://"+httpAddr+"/readyz")
		stopWithSIGTERM(t, code, &stderr)
		lines := daemonLog(t, stderr.String())
		want := append(bootStages(booted), shutdownStages...)
		if got := stagesOf(lines); !slices.Equal(got, want) {
			t.Fatalf("round %d: stages %q, want %q\n%s", round+1, got, want, stderr.String())
		}
		recovered := slices.IndexFunc(lines, func(l logLine) bool { return l.Message == "recovered" && l.Component == "host.0" })
		next := slices.IndexFunc(lines, func(l logLine) bool {
			return l.Message == "stage" && l.Stage != string(assembly.StageDevices) && l.Stage != string(assembly.StageComponents)
		})
		if recovered < 0 || recovered > next {
			t.Fatalf("round %d: the recovered components (line %d) were not read before the stage after recovery (line %d)\n%s", round+1, recovered, next, stderr.String())
		}
	}
}

// Ensure a BMC reset on the default platform (reset = "restart-daemon")
// works in the daemon: the request is accepted, the daemon stops in order
// and starts again over the same data, records a BMC boot with reboot
// cause Software (the kernel's boot id is unchanged: only the reset marker
// makes it a boot), comes back Ready with its service running, and a
// SIGTERM afterwards stops it cleanly. Before the daemon passed the
// assembly its reset, the request was accepted and the reset failed: "no
// BMC reset is configured".
func TestBMCResetRestartsTheDaemon(t *testing.T) {
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	args := []string{"-data-dir", dir, "-http-listen", httpAddr, "-nats-listen", natsAddr, "-log-format", "json"}
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(args, &bytes.Buffer{}, &stderr) }()
	waitReady(t, "http://"+httpAddr+"/readyz")
	cl := demoClient(t, natsAddr, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first, err := cl.Get(ctx, "bmc.0")
	if err != nil {
		t.Fatal(err)
	}
	if first.LastRebootCause == machine.RebootCauseSoftware {
		t.Fatalf("bmc.0 before the reset: %+v, want a first boot's cause", first)
	}
	var reply server.ControlReply
	if err := cl.Request(ctx, server.SubjectBMCReset, server.ControlRequest{ID: "bmc.0", Type: machine.RequestForceRestart}, &reply); err != nil {
		t.Fatalf("bmc.reset ForceRestart: %v", err)
	}
	if reply.State != machine.StateRebooting {
		t.Fatalf("bmc.reset reply %+v, want Rebooting", reply)
	}
	for {
		// Requests fail while the daemon restarts, and one in flight when
		// the embedded NATS server shuts down is lost with its connection:
		// each attempt has its own deadline. The loop ends with ctx.
		bmc, err := getWithin(ctx, cl, "bmc.0")
		svc, serr := getWithin(ctx, cl, "service.demo")
		if err == nil && serr == nil && bmc.State == machine.StateReady && bmc.LastRebootCause == machine.RebootCauseSoftware &&
			svc.State == machine.StateRunning {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("after the reset: bmc.0 %+v (%v), service.demo %+v (%v); want Ready, cause Software, Running\n%s", bmc, err, svc, serr, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitReady(t, "http://"+httpAddr+"/readyz")
	if _, err := os.Stat(filepath.Join(dir, resetFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("reset marker after the restart: %v, want none", err)
	}
	stopWithSIGTERM(t, code, &stderr)
	want := slices.Concat(bootStages(true), shutdownStages, bootStages(true), shutdownStages)
	if got := stagesOf(daemonLog(t, stderr.String())); !slices.Equal(got, want) {
		t.Fatalf("stages %q, want %q\n%s", got, want, stderr.String())
	}
}

// getWithin gets a component's view, giving up after a second: a request
// sent as the daemon restarts may never be answered.
func getWithin(ctx context.Context, cl *client.Client, id string) (server.Component, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return cl.Get(ctx, id)
}
