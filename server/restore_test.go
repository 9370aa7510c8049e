package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

// heldRestorer stands for the daemon's restore (which stops this server:
// cmd/statemgrd's tests run it whole): it says when it is entered and
// returns once released.
type heldRestorer struct {
	entered chan string
	release chan struct{}
}

func (h *heldRestorer) Restore(ctx context.Context, id, _ string) (server.CheckpointRestoreReply, error) {
	h.entered <- id
	select {
	case <-h.release:
		return server.CheckpointRestoreReply{Checkpoint: checkpoint.Manifest{ID: id}}, nil
	case <-ctx.Done():
		return server.CheckpointRestoreReply{}, ctx.Err()
	}
}

// TestRestoreRefusesControlsWhileItRuns: a restore waits for the control
// requests in flight (a checkpoint being stored) before the daemon's part
// runs; while it runs, every control request and a second restore are
// refused restore_in_progress and reads are answered; once it ends,
// control requests are taken again.
func TestRestoreRefusesControlsWhileItRuns(t *testing.T) {
	held := &heldStore{putting: make(chan struct{}), release: make(chan struct{})}
	restorer := &heldRestorer{entered: make(chan string, 1), release: make(chan struct{})}
	env, cl, _ := checkpointEnv(t, 0, func(s checkpoint.Store) checkpoint.Store { held.Store = s; return held }, restorer)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env.Observe(t, "bmc.0", "services_ready")
	const id = "20261207T132200.000Z-1234"

	created := make(chan error, 1)
	go func() {
		created <- cl.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, nil)
	}()
	<-held.putting
	restored := make(chan error, 1)
	var reply server.CheckpointRestoreReply
	go func() {
		restored <- cl.Request(ctx, server.SubjectCheckpointRestore, server.CheckpointRestoreRequest{ID: id}, &reply)
	}()
	// The restore has begun once new control requests are refused.
	for {
		err := cl.Request(ctx, server.SubjectChassisPowerOn, server.ControlRequest{ID: "chassis.0"}, nil)
		if errors.Is(err, server.ErrRestoreInProgress) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("control requests still taken: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-restorer.entered:
		t.Fatal("the daemon's restore ran while a checkpoint create was in flight")
	default:
	}
	close(held.release)
	if err := <-created; err != nil {
		t.Fatalf("the create in flight: %v", err)
	}
	if got := <-restorer.entered; got != id {
		t.Fatalf("restorer got %q", got)
	}
	for _, c := range []struct {
		subject string
		req     any
	}{
		{server.SubjectCheckpointRestore, server.CheckpointRestoreRequest{ID: id}},
		{server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}},
		{server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0"}},
		{server.SubjectServiceStart, server.ControlRequest{ID: "service.demo"}},
	} {
		if err := cl.Request(ctx, c.subject, c.req, nil); !errors.Is(err, server.ErrRestoreInProgress) {
			t.Errorf("%s during the restore: %v, want restore_in_progress", c.subject, err)
		}
	}
	var list server.ComponentList
	if err := cl.Request(ctx, server.SubjectComponentsList, server.ListRequest{}, &list); err != nil || len(list.Components) == 0 {
		t.Fatalf("a read during the restore: %v %+v", err, list)
	}
	var shown server.CheckpointList
	if err := cl.Request(ctx, server.SubjectCheckpointList, server.CheckpointListRequest{}, &shown); err != nil {
		t.Fatalf("checkpoint list during the restore: %v", err)
	}
	close(restorer.release)
	if err := <-restored; err != nil || reply.Checkpoint.ID != id {
		t.Fatalf("restore: %+v %v", reply, err)
	}
	if err := cl.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, nil); err != nil {
		t.Fatalf("a control request after the restore: %v", err)
	}
}

// TestRestoreRequestIsChecked: a bad id, an unknown field, and a server without
// a Restorer are refused before anything runs.
func TestRestoreRequestIsChecked(t *testing.T) {
	_, cl, _ := checkpointEnv(t, 0, nil, nil)
	ctx := ctxT(t)
	for _, c := range []struct {
		req  any
		want *server.ErrorKind
	}{
		{server.CheckpointRestoreRequest{ID: "latest"}, server.ErrBadCheckpointID},
		{server.CheckpointRequest{ID: "20261207T132200.000Z-1234", Verify: true}, server.ErrUnknownField},
		{server.CheckpointRestoreRequest{ID: "20261207T132200.000Z-1234"}, server.ErrCheckpointsNotConfigured},
	} {
		if err := cl.Request(ctx, server.SubjectCheckpointRestore, c.req, nil); !errors.Is(err, c.want) {
			t.Errorf("restore %+v: %v, want %s", c.req, err, c.want.Name())
		}
	}
}
