package file_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/checkpointtest"
	"github.com/statemgr/statemgr/snapshots/checkpoint/file"
)

func TestContract(t *testing.T) {
	checkpointtest.Run(t, func(t *testing.T) checkpoint.Store {
		s, err := file.New(filepath.Join(t.TempDir(), "usb", "statemgr"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

var at = time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)

// stallingReader gives the first n bytes, then blocks forever.
type stallingReader struct {
	r io.Reader
	n int
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.n <= 0 {
		select {}
	}
	if len(p) > s.n {
		p = p[:s.n]
	}
	n, err := s.r.Read(p)
	s.n -= n
	return n, err
}

// TestKilledPutListsNothing kills -9 a real process in the middle of a
// Put: the directory lists no checkpoint (the partial one is a temporary
// file), and the next Put of the same checkpoint removes the leftover and
// stores it whole.
func TestKilledPutListsNothing(t *testing.T) {
	if dir := os.Getenv("CHECKPOINT_PUT_CHILD"); dir != "" {
		s, err := file.New(dir)
		if err != nil {
			os.Exit(2)
		}
		m, c := checkpointtest.Content(t, at, 7, 5000)
		_ = s.Put(context.Background(), m, &stallingReader{r: bytes.NewReader(c), n: len(c) / 2})
		os.Exit(3) // never: the parent kills it first
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledPutListsNothing$")
	cmd.Env = append(os.Environ(), "CHECKPOINT_PUT_CHILD="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m, c := checkpointtest.Content(t, at, 7, 5000)
	deadline := time.Now().Add(30 * time.Second)
	for {
		tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
		if len(tmps) == 1 {
			if fi, err := os.Stat(tmps[0]); err == nil && fi.Size() >= int64(len(c)/4) {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the child never wrote half its checkpoint")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	s, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after the kill listed %+v (%v), want nothing", list, err)
	}
	if _, err := s.Stat(ctx, m.ID); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("stat after the kill: %v, want ErrNotFound", err)
	}
	if err := s.Put(ctx, m, bytes.NewReader(c)); err != nil {
		t.Fatal(err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(tmps) != 0 {
		t.Fatalf("leftover temporary files %v", tmps)
	}
	if list, _ := s.List(ctx); len(list) != 1 || list[0] != m {
		t.Fatalf("listed %+v, want %s", list, m.ID)
	}
}

// TestDamagedFileIsListedWithItsProblem: a checkpoint file whose manifest
// is damaged is listed with the problem, so it is seen, and cannot be
// opened.
func TestDamagedFileIsListedWithItsProblem(t *testing.T) {
	dir := t.TempDir()
	s, _ := file.New(dir)
	ctx := context.Background()
	m, c := checkpointtest.Content(t, at, 3, 2)
	if err := s.Put(ctx, m, bytes.NewReader(c)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, m.ID+".ckpt")
	raw, _ := os.ReadFile(path)
	raw[30] = '}'
	if err := os.WriteFile(path, raw, 0o640); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != m.ID || list[0].Problem == "" {
		t.Fatalf("listed %+v (%v), want %s with a problem", list, err, m.ID)
	}
	if _, _, err := s.Open(ctx, m.ID); !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Fatalf("open: %v, want ErrCorrupt", err)
	}
}
