package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

// TestCheckpointsBlockIsChecked: each mistake in a checkpoints block is
// reported, naming the attribute.
func TestCheckpointsBlockIsChecked(t *testing.T) {
	data := t.TempDir()
	for block, want := range map[string]string{
		`checkpoints {}`: "names no store",
		"checkpoints {\n dir = \"/media/usb\"\n bucket = \"b\"\n}": "both a dir and a bucket",
		`checkpoints { dir = "usb" }`:                              "is relative",
		`checkpoints { dir = "` + data + `/ckpt" }`:                "inside data_dir",
		`checkpoints { bucket = "no.dots" }`:                       "bucket name",
		"checkpoints {\n bucket = \"ok\"\n keep = -1\n}":           "keep -1",
	} {
		file := filepath.Join(t.TempDir(), "statemgrd.hcl")
		if err := os.WriteFile(file, []byte("data_dir = \""+data+"\"\n"+block+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := load(options{configFile: file})
		if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", block, err, want)
		}
	}
}

// runDaemonWith runs the daemon in process on a config file holding
// extra, and returns a client connected to its NATS and a stop function.
func runDaemonWith(t *testing.T, extra string) (*client.Client, func()) {
	t.Helper()
	d := runDaemonOn(t, t.TempDir(), "", extra, true)
	nc, err := nats.Connect(d.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	return client.New(nc), func() {
		nc.Close()
		d.stop()
	}
}

// inProcessDaemon is a daemon run in process (runDaemonOn).
type inProcessDaemon struct {
	natsURL string
	stderr  *syncBuffer
	stop    func() // idempotent; the test's cleanup calls it too
}

// runDaemonOn runs the daemon in process on data directory dir, with a
// config file whose nats block holds natsBlock and which ends with
// extra; it returns once the daemon is ready, or only healthy (an
// unconfigured daemon is never ready) unless ready.
func runDaemonOn(t *testing.T, dir, natsBlock, extra string, ready bool) inProcessDaemon {
	t.Helper()
	httpAddr, natsAddr := freeAddr(t), freeAddr(t)
	file := filepath.Join(t.TempDir(), "statemgrd.hcl")
	conf := "data_dir = \"" + dir + "\"\nhttp_listen = \"" + httpAddr + "\"\nnats {\n  listen = \"" + natsAddr + "\"\n" + natsBlock + "}\n" + extra
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	code := make(chan int, 1)
	go func() { code <- run([]string{"-config", file}, &bytes.Buffer{}, stderr) }()
	probe := "/readyz"
	if !ready {
		probe = "/healthz"
	}
	waitReady(t, "http://"+httpAddr+probe)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopWithSIGTERM(t, code, stderr)
		}
	}
	t.Cleanup(stop)
	return inProcessDaemon{natsURL: "nats://" + natsAddr, stderr: stderr, stop: stop}
}

// TestDaemonCheckpoints: a daemon with a checkpoints block serves the
// checkpoint subjects, into a directory and into a bucket of its embedded
// NATS server with JetStream on.
func TestDaemonCheckpoints(t *testing.T) {
	for name, block := range map[string]string{
		"dir":    "checkpoints {\n  dir = \"" + filepath.Join(t.TempDir(), "usb") + "\"\n  keep = 1\n}\n",
		"bucket": "checkpoints {\n  bucket = \"statemgr-checkpoints\"\n  keep = 1\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			cl, _ := runDaemonWith(t, block)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var first, second server.CheckpointReply
			if err := cl.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, &first); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond) // ids are to the millisecond
			if err := cl.Request(ctx, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, &second); err != nil {
				t.Fatal(err)
			}
			if len(second.Deleted) != 1 || second.Deleted[0] != first.Checkpoint.ID || second.Checkpoint.Platform.BMC == "" {
				t.Fatalf("second create %+v, want it to delete %s (keep 1)", second, first.Checkpoint.ID)
			}
			var shown server.CheckpointReply
			if err := cl.Request(ctx, server.SubjectCheckpointShow, server.CheckpointRequest{ID: second.Checkpoint.ID, Verify: true}, &shown); err != nil || !shown.Verified {
				t.Fatalf("show: %+v %v", shown, err)
			}
			var list server.CheckpointList
			if err := cl.Request(ctx, server.SubjectCheckpointList, server.CheckpointListRequest{}, &list); err != nil ||
				len(list.Checkpoints) != 1 || list.Checkpoints[0].ID != second.Checkpoint.ID {
				t.Fatalf("list: %+v %v", list, err)
			}
		})
	}
}
