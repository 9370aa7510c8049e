package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

// TestPowerOperationsThroughTheDaemon runs the default daemon with a
// policy block and drives power operations through NATS: a host power-on
// that powers its chassis first, and a chassis power-off refused while the
// host runs. The simulated board starts unpowered with every daemon, which
// is what an AC loss looks like to the next start: after the restart the
// operation's outcome is still known, the power-restore decision is logged
// with its evidence, and AlwaysOn brings the host back.
func TestPowerOperationsThroughTheDaemon(t *testing.T) {
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	conf := filepath.Join(dir, "statemgrd.hcl")
	if err := os.WriteFile(conf, []byte("policy {\n  power_restore = \"AlwaysOn\"\n  max_concurrent_power_ons = 2\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-config", conf, "-data-dir", dir, "-http-listen", httpAddr, "-nats-listen", natsAddr}
	var opID string
	for round := 1; round <= 2; round++ {
		var stderr syncBuffer
		code := make(chan int, 1)
		go func() { code <- run(args, &bytes.Buffer{}, &stderr) }()
		waitReady(t, "http://"+httpAddr+"/readyz")
		nc, err := nats.Connect("nats://" + natsAddr)
		if err != nil {
			t.Fatal(err)
		}
		cl := client.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if round == 1 {
			var on server.ControlReply
			if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", PowerChassis: true, Wait: "20s"}, &on); err != nil {
				t.Fatal(err)
			}
			if on.Outcome == nil || on.Outcome.Result != server.ResultSucceeded || on.Outcome.State != "Running" {
				t.Fatalf("power on: %+v %+v", on, on.Outcome)
			}
			opID = on.Operation
			err := cl.Request(ctx, server.SubjectChassisPowerOff, server.ControlRequest{ID: "chassis.0"}, nil)
			if !errors.Is(err, server.ErrHostsNotOff) {
				t.Fatalf("chassis off under a running host: %v", err)
			}
			waitMetric(t, "http://"+httpAddr+"/metrics", `statemgr_operations_total{kind="host_power_on",outcome="succeeded"} 1`)
		} else {
			var op server.OperationReply
			if err := cl.Request(ctx, server.SubjectOperationGet, server.OperationRequest{Operation: opID}, &op); err != nil {
				t.Fatal(err)
			}
			if op.Outcome.Result != server.ResultSucceeded || op.ID != "host.0" {
				t.Fatalf("after a restart, operation %s = %+v", opID, op)
			}
			var replay server.ReplayReply
			if err := cl.Request(ctx, server.SubjectLogReplay, server.ReplayRequest{Filter: server.EventFilter{Type: "apr_decided"}}, &replay); err != nil {
				t.Fatal(err)
			}
			// The first start found nothing to restore; the second, the
			// board unpowered under a chassis the log has On.
			if n := len(replay.Events); n != 2 || replay.Events[0].Cause == "AC power loss" || replay.Events[1].Cause != "AC power loss" {
				t.Fatalf("power-restore decisions: %+v", replay.Events)
			}
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if h, err := cl.Get(ctx, "host.0"); err == nil && h.State == "Running" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("AlwaysOn did not bring host.0 back\n%s", stderr.String())
				}
			}
		}
		cancel()
		nc.Close()
		stopWithSIGTERM(t, code, &stderr)
	}
}
