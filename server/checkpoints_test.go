package server_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/file"
)

// checkpointEnv is a server over a real Badger log whose checkpoints go
// to a directory through a checkpoint.Manager keeping keep of them; wrap,
// if set, wraps the directory store.
func checkpointEnv(t *testing.T, keep int, wrap func(checkpoint.Store) checkpoint.Store, restorer server.Restorer) (*servertest.Env, *client.Client, string) {
	t.Helper()
	log, err := badger.Open(badger.Options{Dir: t.TempDir(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	dir := t.TempDir()
	var store checkpoint.Store
	if store, err = file.New(dir); err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		store = wrap(store)
	}
	// Each checkpoint a millisecond after the last, so that ids differ
	// even when two are made in the same millisecond at the same head.
	var tick atomic.Int64
	start := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	mgr, err := checkpoint.NewManager(checkpoint.Config{Source: log, Store: store, Keep: keep, SpoolDir: t.TempDir(),
		Platform: checkpoint.PlatformSource{File: platform.DefaultFile, BMC: "bmc0", Source: platform.DefaultSource()},
		Now:      func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Millisecond) }})
	if err != nil {
		t.Fatal(err)
	}
	env := servertest.Start(t, servertest.Options{Log: log, Server: server.Config{Checkpoints: mgr, Restorer: restorer}})
	return env, client.New(env.Connect(t)), dir
}

// TestCheckpointSubjects: create, list (newest first, paged, retention
// applied), show (with verify), delete, and the typed refusals.
func TestCheckpointSubjects(t *testing.T) {
	env, cl, _ := checkpointEnv(t, 2, nil, nil)
	ctx := ctxT(t)
	var made []server.CheckpointReply
	for i := range 3 {
		env.Observe(t, "bmc.0", "services_ready")
		var r server.CheckpointReply
		if err := cl.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, &r); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		head, _ := env.Log.Head(ctx)
		if r.Checkpoint.Seq == 0 || r.Checkpoint.Seq > head || r.Checkpoint.SHA256 == "" || r.Where == "" {
			t.Fatalf("create %d: %+v (head %d)", i, r, head)
		}
		made = append(made, r)
	}
	if len(made[2].Deleted) != 1 || made[2].Deleted[0] != made[0].Checkpoint.ID {
		t.Fatalf("the third create deleted %v, want the first %s (keep 2)", made[2].Deleted, made[0].Checkpoint.ID)
	}
	var page server.CheckpointList
	if err := cl.Request(ctx, server.SubjectCheckpointList, server.CheckpointListRequest{Limit: 1}, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Checkpoints) != 1 || page.Checkpoints[0].ID != made[2].Checkpoint.ID || !page.More || page.Next != made[1].Checkpoint.ID {
		t.Fatalf("first page %+v, want %s then next %s", page, made[2].Checkpoint.ID, made[1].Checkpoint.ID)
	}
	var shown server.CheckpointReply
	if err := cl.Request(ctx, server.SubjectCheckpointShow, server.CheckpointRequest{ID: made[1].Checkpoint.ID, Verify: true}, &shown); err != nil {
		t.Fatal(err)
	}
	if !shown.Verified || shown.Checkpoint != made[1].Checkpoint {
		t.Fatalf("show %+v, want %+v verified", shown, made[1].Checkpoint)
	}
	var deleted server.CheckpointDeleteReply
	if err := cl.Request(ctx, server.SubjectCheckpointDelete, server.CheckpointRequest{ID: made[1].Checkpoint.ID}, &deleted); err != nil || !deleted.Deleted {
		t.Fatalf("delete: %+v %v", deleted, err)
	}
	for _, c := range []struct {
		subject string
		req     any
		want    *server.ErrorKind
	}{
		{server.SubjectCheckpointShow, server.CheckpointRequest{ID: made[1].Checkpoint.ID}, server.ErrUnknownCheckpoint},
		{server.SubjectCheckpointDelete, server.CheckpointRequest{ID: made[0].Checkpoint.ID}, server.ErrUnknownCheckpoint},
		{server.SubjectCheckpointShow, server.CheckpointRequest{ID: "../../etc/passwd"}, server.ErrBadCheckpointID},
		{server.SubjectCheckpointDelete, server.CheckpointRequest{}, server.ErrBadCheckpointID},
		{server.SubjectCheckpointList, server.CheckpointListRequest{From: "nope"}, server.ErrBadRequest},
		{server.SubjectCheckpointList, server.CheckpointListRequest{Limit: 10001}, server.ErrBadRequest},
	} {
		if err := cl.Request(ctx, c.subject, c.req, nil); !errors.Is(err, c.want) {
			t.Errorf("%s %+v: %v, want %s", c.subject, c.req, err, c.want.Name())
		}
	}
	var all server.CheckpointList
	if err := cl.Request(ctx, server.SubjectCheckpointList, server.CheckpointListRequest{}, &all); err != nil || len(all.Checkpoints) != 1 || all.More {
		t.Fatalf("after the delete listed %+v, %v", all, err)
	}
}

// TestCheckpointsNotConfigured: without a manager every checkpoint
// subject answers checkpoints_not_configured, pointing at the config.
func TestCheckpointsNotConfigured(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	for _, subject := range []string{server.SubjectCheckpointCreate, server.SubjectCheckpointList} {
		if err := cl.Request(ctxT(t), subject, struct{}{}, nil); !errors.Is(err, server.ErrCheckpointsNotConfigured) {
			t.Errorf("%s: %v, want checkpoints_not_configured", subject, err)
		}
	}
}

// heldStore holds each Put until release is closed, so that a test can
// act while a checkpoint is being made.
type heldStore struct {
	checkpoint.Store
	putting chan struct{} // closed when a Put starts
	release chan struct{}
	once    sync.Once
}

func (h *heldStore) Put(ctx context.Context, m checkpoint.Manifest, content io.Reader) error {
	h.once.Do(func() { close(h.putting) })
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Store.Put(ctx, m, content)
}

// TestCheckpointWhileUnderLoad: while a checkpoint is being made (held in
// its store), reads and power operations go on being answered, and
// writing; a second create is refused checkpoint_in_progress; the
// checkpoint, once stored, reads back whole at a sequence no later than
// the head when it began.
func TestCheckpointWhileUnderLoad(t *testing.T) {
	held := &heldStore{putting: make(chan struct{}), release: make(chan struct{})}
	env, cl, _ := checkpointEnv(t, 0, func(s checkpoint.Store) checkpoint.Store { held.Store = s; return held }, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env.Observe(t, "bmc.0", "services_ready")
	headBefore, _ := env.Log.Head(ctx)
	created := make(chan error, 1)
	var made server.CheckpointReply
	go func() {
		created <- cl.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, &made)
	}()
	select {
	case <-held.putting:
	case <-ctx.Done():
		t.Fatal("the checkpoint never reached its store")
	}
	headCopied, _ := env.Log.Head(ctx)
	if err := cl.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, nil); !errors.Is(err, server.ErrCheckpointInProgress) {
		t.Fatalf("a second create while one runs: %v, want checkpoint_in_progress", err)
	}
	// The load: readers and a writer cycling the chassis, all while the
	// checkpoint is held.
	var wg sync.WaitGroup
	var reads, writes atomic.Int64
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				var c server.Component
				if err := cl.Request(ctx, server.SubjectHostGet, server.IDRequest{ID: "host.0"}, &c); err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		})
	}
	wg.Go(func() {
		for i := range 6 {
			subject := server.SubjectChassisPowerOn
			if i%2 == 1 {
				subject = server.SubjectChassisPowerOff
			}
			var r server.ControlReply
			if err := cl.Request(ctx, subject, server.ControlRequest{ID: "chassis.0", Wait: "5s"}, &r); err != nil {
				errs <- err
				return
			}
			if r.Outcome == nil || r.Outcome.Result != server.ResultSucceeded {
				errs <- errors.New(subject + ": " + r.Outcome.Result)
				return
			}
			writes.Add(1)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a request during the checkpoint: %v", err)
	}
	headAfter, _ := env.Log.Head(ctx)
	if reads.Load() != 200 || writes.Load() != 6 || headAfter <= headCopied {
		t.Fatalf("%d reads, %d writes, head %d -> %d during the checkpoint", reads.Load(), writes.Load(), headCopied, headAfter)
	}
	close(held.release)
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	if made.Checkpoint.Seq < headBefore || made.Checkpoint.Seq > headCopied {
		t.Fatalf("checkpoint at %d, want between %d and %d (the heads around its copy)", made.Checkpoint.Seq, headBefore, headCopied)
	}
	var shown server.CheckpointReply
	if err := cl.Request(ctx, server.SubjectCheckpointShow, server.CheckpointRequest{ID: made.Checkpoint.ID, Verify: true}, &shown); err != nil || !shown.Verified {
		t.Fatalf("verify the checkpoint made under load: %+v %v", shown, err)
	}
}

// TestCheckpointRoles: a viewer may list checkpoints but neither create,
// delete nor restore one; an operator may create.
func TestCheckpointRoles(t *testing.T) {
	log, err := badger.Open(badger.Options{Dir: t.TempDir(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	store := checkpoint.NewMemStore()
	mgr, err := checkpoint.NewManager(checkpoint.Config{Source: log, Store: store, Now: time.Now, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	env := servertest.Start(t, servertest.Options{Users: users, Log: log, Server: server.Config{Checkpoints: mgr}})
	onErr, errs := asyncErrors()
	viewer := client.New(env.Connect(t, client.UserInfo("vera", "viewer-pw"), onErr))
	operator := client.New(env.Connect(t, client.UserInfo("otto", "operator-pw")))
	ctx := ctxT(t)
	if err := viewer.Request(ctx, server.SubjectCheckpointList, server.CheckpointListRequest{}, nil); err != nil {
		t.Fatalf("viewer list: %v", err)
	}
	for _, subject := range []string{server.SubjectCheckpointCreate, server.SubjectCheckpointDelete, server.SubjectCheckpointRestore} {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := viewer.Request(short, subject, server.CheckpointRequest{ID: "20261207T130000.000Z-1"}, nil)
		cancel()
		if err == nil {
			t.Fatalf("viewer's %s succeeded", subject)
		}
		expectPermissionViolation(t, errs)
	}
	if list, _ := store.List(ctx); len(list) != 0 {
		t.Fatalf("the viewer's create stored %+v", list)
	}
	if err := operator.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, nil); err != nil {
		t.Fatalf("operator create: %v", err)
	}
}
