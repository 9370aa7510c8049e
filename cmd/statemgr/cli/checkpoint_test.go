package cli

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/file"
)

// TestCLICheckpoint: statemgr checkpoint create, list, show --verify and
// delete against a server keeping checkpoints in a directory.
func TestCLICheckpoint(t *testing.T) {
	log, err := badger.Open(badger.Options{Dir: t.TempDir(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	store, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := checkpoint.NewManager(checkpoint.Config{Source: log, Store: store, Now: time.Now, SpoolDir: t.TempDir(),
		Platform: checkpoint.PlatformSource{File: platform.DefaultFile, BMC: "bmc0", Source: platform.DefaultSource()}})
	if err != nil {
		t.Fatal(err)
	}
	env := servertest.Start(t, servertest.Options{Log: log, Server: server.Config{Checkpoints: mgr}})
	if out := mustRun(t, env.URL, "checkpoint", "list"); !strings.Contains(out, "no checkpoints in directory") {
		t.Fatalf("list of none printed %q", out)
	}
	created := mustRun(t, env.URL, "checkpoint", "create")
	id := regexp.MustCompile(`checkpoint ([0-9]{8}T[0-9.]+Z-[0-9]+) in directory`).FindStringSubmatch(created)
	if id == nil {
		t.Fatalf("create printed %q", created)
	}
	if out := mustRun(t, env.URL, "checkpoint", "list"); !strings.Contains(out, id[1]) {
		t.Fatalf("list printed %q, want %s", out, id[1])
	}
	if out := mustRun(t, env.URL, "checkpoint", "show", id[1], "--verify"); !strings.Contains(out, "verified") {
		t.Fatalf("show --verify printed %q", out)
	}
	if out := mustRun(t, env.URL, "checkpoint", "delete", id[1]); !strings.Contains(out, "deleted") {
		t.Fatalf("delete printed %q", out)
	}
	var out syncBuffer
	if err := runCLI(context.Background(), env.URL, &out, "checkpoint", "show", id[1]); !errors.Is(err, server.ErrUnknownCheckpoint) {
		t.Fatalf("show of the deleted one: %v\n%s", err, out.String())
	}
}
