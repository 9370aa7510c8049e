package main

import (
	"context"
	"maps"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

// statesAt folds the log, as the API replays it, up to global sequence
// seq: each component's state after its last record at or before seq.
func statesAt(t *testing.T, ctx context.Context, cl *client.Client, components map[string]string, seq uint64) map[string]string {
	t.Helper()
	out := map[string]string{}
	for from := uint64(1); from <= seq; {
		page, err := cl.Replay(ctx, server.ReplayRequest{From: from, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if _, ok := components[e.ID]; ok && e.Seq <= seq {
				out[e.ID] = e.State
			}
		}
		if !page.More {
			break
		}
		from = page.Next
	}
	return out
}

// TestDaemonCheckpointUnderLoadRestores: a checkpoint is created while
// power requests and service restarts run; restored on a fresh daemon (a
// new data directory, the same store), the components come back in the
// states the first daemon's log records at the checkpoint's sequence,
// the operations it caught in flight abandoned, not resumed.
func TestDaemonCheckpointUnderLoadRestores(t *testing.T) {
	store := filepath.Join(t.TempDir(), "usb")
	cl, stop := runDaemonWith(t, checkpointsIn(store))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	awaitState(t, ctx, cl, "service.demo", "Running")

	loadCtx, stopLoad := context.WithCancel(ctx)
	var requests atomic.Int64
	loadErrs := make(chan error, 2)
	load := func(steps ...func() error) {
		go func() {
			for i := 0; loadCtx.Err() == nil; i++ {
				if err := steps[i%len(steps)](); err != nil && loadCtx.Err() == nil {
					loadErrs <- err
					return
				}
				requests.Add(1)
			}
			loadErrs <- nil
		}()
	}
	control := func(subject, id string) func() error {
		return func() error {
			return cl.Request(loadCtx, subject, server.ControlRequest{ID: id, Wait: "30s"}, nil)
		}
	}
	load(control(server.SubjectChassisPowerOn, "chassis.0"), control(server.SubjectChassisPowerOff, "chassis.0"))
	load(control(server.SubjectServiceRestart, "service.demo"))
	for requests.Load() < 6 {
		time.Sleep(10 * time.Millisecond)
	}
	made := createCheckpoint(t, ctx, cl)
	for at := requests.Load(); requests.Load() < at+6; {
		time.Sleep(10 * time.Millisecond)
	}
	stopLoad()
	for range 2 {
		if err := <-loadErrs; err != nil {
			t.Fatalf("the load: %v", err)
		}
	}
	if head := logHead(t, ctx, cl); head <= made.Checkpoint.Seq {
		t.Fatalf("the log head %d is not past the checkpoint's %d: the load stopped before it", head, made.Checkpoint.Seq)
	}
	want := statesAt(t, ctx, cl, states(t, ctx, cl), made.Checkpoint.Seq)
	stop()

	fresh, _ := runDaemonWith(t, checkpointsIn(store))
	var reply server.CheckpointRestoreReply
	if err := fresh.Request(ctx, server.SubjectCheckpointRestore, server.CheckpointRestoreRequest{ID: made.Checkpoint.ID}, &reply); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range reply.Restored {
		got[c.ID] = c.State
	}
	if !maps.Equal(got, want) {
		t.Fatalf("restored states %v, the log at %d has %v", got, made.Checkpoint.Seq, want)
	}
	for _, op := range reply.Abandoned {
		var got server.OperationReply
		if err := fresh.Request(ctx, server.SubjectOperationGet, server.OperationRequest{Operation: op}, &got); err != nil ||
			got.Outcome.Result != server.ResultAbandoned {
			t.Errorf("operation %s after the restore: %+v %v, want abandoned", op, got.Outcome, err)
		}
	}
	t.Logf("checkpoint at %d under load (%d requests); restored %v, drift %d, abandoned %v", made.Checkpoint.Seq, requests.Load(), got, len(reply.Drift), reply.Abandoned)
}
