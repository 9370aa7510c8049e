package main

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/file"
)

// states lists every component's state.
func states(t *testing.T, ctx context.Context, cl *client.Client) map[string]string {
	t.Helper()
	var list server.ComponentList
	if err := cl.Request(ctx, server.SubjectComponentsList, server.ListRequest{Limit: 100}, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list.Components {
		out[c.ID] = c.State
	}
	return out
}

// awaitState polls until component id is in state want.
func awaitState(t *testing.T, ctx context.Context, cl *client.Client, id, want string) {
	t.Helper()
	for {
		if got := states(t, ctx, cl)[id]; got == want {
			return
		} else if ctx.Err() != nil {
			t.Fatalf("%s is %s, want %s", id, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkpointsIn is the checkpoints block of a daemon keeping them in dir.
func checkpointsIn(dir string) string {
	return "checkpoints {\n  dir = \"" + dir + "\"\n  keep = 0\n}\n"
}

func createCheckpoint(t *testing.T, ctx context.Context, cl *client.Client) server.CheckpointReply {
	t.Helper()
	var made server.CheckpointReply
	if err := cl.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, &made); err != nil {
		t.Fatal(err)
	}
	return made
}

func maintenance(t *testing.T, ctx context.Context, cl *client.Client, on bool) {
	t.Helper()
	if err := cl.Request(ctx, server.SubjectBMCMaintenance, server.MaintenanceRequest{ID: "bmc.0", Enable: &on, Wait: "30s"}, nil); err != nil {
		t.Fatal(err)
	}
}

// restoreEvents returns the log's restore stream and the coordinator's
// restore_settled records, as the API replays them.
func restoreEvents(t *testing.T, ctx context.Context, cl *client.Client) (restored, settled []server.Event) {
	t.Helper()
	for from := uint64(1); ; {
		page, err := cl.Replay(ctx, server.ReplayRequest{From: from, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			switch {
			case e.ID == events.RestoreStream && e.Type == events.EventLogRestored:
				restored = append(restored, e)
			case e.ID == coordinator.Stream && e.Type == coordinator.RecRestoreSettled:
				settled = append(settled, e)
			}
		}
		if !page.More {
			return restored, settled
		}
		from = page.Next
	}
}

// TestDaemonRestore: over the daemon's embedded NATS and the simulated
// platform, a checkpoint is taken, states change (the BMC enters
// maintenance, the demo service is stopped, the chassis is powered on),
// and the restore puts the checkpoint's states back: the BMC and the
// service as they were, while the chassis, whose PSUs the simulation
// still has on, is reported as drift and recorded On from the hardware.
// The restore is in the new history (log_restored, restore_settled),
// and the daemon serves over the restored log.
func TestDaemonRestore(t *testing.T) {
	cl, _ := runDaemonWith(t, checkpointsIn(filepath.Join(t.TempDir(), "usb")))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	awaitState(t, ctx, cl, "service.demo", "Running")
	before := states(t, ctx, cl)
	made := createCheckpoint(t, ctx, cl)

	if err := cl.Request(ctx, server.SubjectChassisPowerOn, server.ControlRequest{ID: "chassis.0", Wait: "30s"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := cl.Request(ctx, server.SubjectServiceStop, server.ControlRequest{ID: "service.demo", Wait: "30s"}, nil); err != nil {
		t.Fatal(err)
	}
	maintenance(t, ctx, cl, true)
	changed := states(t, ctx, cl)
	if changed["bmc.0"] == before["bmc.0"] || changed["service.demo"] == before["service.demo"] || changed["chassis.0"] != "On" {
		t.Fatalf("states did not change: before %v, after %v", before, changed)
	}

	var reply server.CheckpointRestoreReply
	if err := cl.Request(ctx, server.SubjectCheckpointRestore, server.CheckpointRestoreRequest{ID: made.Checkpoint.ID}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Checkpoint.ID != made.Checkpoint.ID || reply.LogRestored <= made.Checkpoint.Seq {
		t.Fatalf("restore reply %+v", reply)
	}
	restored := map[string]string{}
	for _, c := range reply.Restored {
		restored[c.ID] = c.State
	}
	for id, st := range before {
		if restored[id] != st {
			t.Errorf("%s restored %s, the checkpoint has %s (reply %v)", id, restored[id], st, restored)
		}
	}
	i := slices.IndexFunc(reply.Drift, func(d server.RestoreDrift) bool { return d.Component == "chassis.0" })
	if i < 0 || reply.Drift[i].Recorded != "Off" {
		t.Fatalf("drift %+v, want chassis.0 recorded Off against its powered PSUs", reply.Drift)
	}
	for _, d := range reply.Drift {
		if d.Component != "chassis.0" {
			t.Errorf("drift on %s, whose hardware agrees with the checkpoint: %+v", d.Component, d)
		}
	}
	after := states(t, ctx, cl)
	if after["bmc.0"] != before["bmc.0"] || after["chassis.0"] != "On" {
		t.Fatalf("after the restore %v, want bmc.0 %s and chassis.0 On (from the hardware)", after, before["bmc.0"])
	}
	awaitState(t, ctx, cl, "service.demo", "Running")
	logRestored, settled := restoreEvents(t, ctx, cl)
	if len(logRestored) != 1 || logRestored[0].Seq != reply.LogRestored || len(settled) != 1 {
		t.Fatalf("log_restored %+v, restore_settled %+v: want one of each", logRestored, settled)
	}
	// The restored daemon takes control requests again.
	maintenance(t, ctx, cl, true)
}

// TestDaemonRestoreRefusalsLeaveItUntouched: a checkpoint that fails its
// checksum, one taken under another platform file and a restore while an
// operation is in flight are each refused with their own error, and the
// running daemon is left as it was: same states, no restore in its log,
// still serving.
func TestDaemonRestoreRefusalsLeaveItUntouched(t *testing.T) {
	store := filepath.Join(t.TempDir(), "usb")
	cl, _ := runDaemonWith(t, checkpointsIn(store))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	awaitState(t, ctx, cl, "service.demo", "Running")
	good := createCheckpoint(t, ctx, cl)
	damaged := createCheckpoint(t, ctx, cl)
	maintenance(t, ctx, cl, true)

	// A checkpoint of another platform, made by another daemon into the
	// same store.
	other := filepath.Join(t.TempDir(), "other.hcl")
	if err := os.WriteFile(other, append(platform.DefaultSource(), "\n# another board\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := foreignCheckpoint(t, ctx, store, other)

	path := filepath.Join(store, damaged.Checkpoint.ID+".ckpt")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 0xff
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	before := states(t, ctx, cl)
	head := logHead(t, ctx, cl)
	restore := func(id string, want *server.ErrorKind, says string) {
		t.Helper()
		err := cl.Request(ctx, server.SubjectCheckpointRestore, server.CheckpointRestoreRequest{ID: id}, nil)
		var apiErr *server.Error
		if !errors.As(err, &apiErr) || apiErr.Kind != want || !strings.Contains(apiErr.Message, says) {
			t.Errorf("restore %s: %v, want %s naming %s", id, err, want.Name(), says)
		}
	}
	restore(damaged.Checkpoint.ID, server.ErrCheckpointCorrupt, damaged.Checkpoint.ID)
	restore(foreign.Checkpoint.ID, server.ErrCheckpointPlatformMismatch, other)
	if after := states(t, ctx, cl); !maps.Equal(after, before) {
		t.Fatalf("states after the refused restores %v, before %v", after, before)
	}
	if now := logHead(t, ctx, cl); now != head {
		t.Fatalf("the refused restores moved the log head from %d to %d", head, now)
	}

	// An operation in flight: a host power-on takes the simulated boot's
	// 20 s.
	maintenance(t, ctx, cl, false)
	var on server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", PowerChassis: true}, &on); err != nil {
		t.Fatal(err)
	}
	restore(good.Checkpoint.ID, server.ErrOperationsInFlight, on.Operation+" (host_power_on, holding bmc.0, chassis.0, host.0)")
	if restored, _ := restoreEvents(t, ctx, cl); len(restored) != 0 {
		t.Fatalf("a refused restore is in the log: %+v", restored)
	}
	// Still serving, control requests included.
	createCheckpoint(t, ctx, cl)
}

// logHead is the log's head, as the API says.
func logHead(t *testing.T, ctx context.Context, cl *client.Client) uint64 {
	t.Helper()
	page, err := cl.Replay(ctx, server.ReplayRequest{From: 1, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return page.Head
}

// foreignCheckpoint stores, in the directory store, a checkpoint of an
// empty log taken under platform file path (the default one with a
// comment added: another SHA-256).
func foreignCheckpoint(t *testing.T, ctx context.Context, store, path string) server.CheckpointReply {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	log, err := badger.Open(badger.Options{Dir: filepath.Join(t.TempDir(), "events")})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	fs, err := file.New(store)
	if err != nil {
		t.Fatal(err)
	}
	m, err := checkpoint.NewManager(checkpoint.Config{Source: log, Store: fs, Now: time.Now,
		Platform: checkpoint.PlatformSource{File: path, BMC: "0", Source: src}})
	if err != nil {
		t.Fatal(err)
	}
	made, err := m.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return server.CheckpointReply{Checkpoint: made.Manifest}
}
