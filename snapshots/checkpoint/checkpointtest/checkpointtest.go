// Package checkpointtest is the contract every checkpoint.Store passes:
// run it from each store's tests with Run.
package checkpointtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

// Content returns a valid checkpoint of records at seq, taken at t.
func Content(t testing.TB, at time.Time, seq uint64, records int) (checkpoint.Manifest, []byte) {
	t.Helper()
	var buf bytes.Buffer
	at = at.UTC().Truncate(time.Millisecond)
	m := checkpoint.Manifest{Format: checkpoint.Format, Time: at, Platform: checkpoint.Platform{File: "p.hcl", BMC: "bmc0"}}
	w := checkpoint.NewWriter(&buf, "p.hcl", []byte("platform"))
	for i := range records {
		if err := w.Record(fmt.Appendf(nil, "k%06d", i), bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(seq, &m); err != nil {
		t.Fatal(err)
	}
	m.ID = checkpoint.NewID(at, seq)
	return m, buf.Bytes()
}

// Run checks a store made by open (empty, its own) against the Store
// contract.
func Run(t *testing.T, open func(t *testing.T) checkpoint.Store) {
	ctx := context.Background()
	base := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	t.Run("PutListOpenDelete", func(t *testing.T) {
		s := open(t)
		m1, c1 := Content(t, base, 10, 3)
		m2, c2 := Content(t, base.Add(time.Minute), 20, 300)
		for _, p := range []struct {
			m checkpoint.Manifest
			c []byte
		}{{m1, c1}, {m2, c2}} {
			if err := s.Put(ctx, p.m, bytes.NewReader(p.c)); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0] != m2 || list[1] != m1 {
			t.Fatalf("listed %+v, want %s then %s", list, m2.ID, m1.ID)
		}
		if got, err := s.Stat(ctx, m1.ID); err != nil || got != m1 {
			t.Fatalf("stat: %+v %v", got, err)
		}
		got, rc, err := s.Open(ctx, m2.ID)
		if err != nil {
			t.Fatal(err)
		}
		records := 0
		err = checkpoint.Read(rc, got, checkpoint.Visitor{Record: func(k, v []byte) error { records++; return nil }})
		_ = rc.Close()
		if err != nil || records != 300 {
			t.Fatalf("read back: %d records, %v", records, err)
		}
		if err := s.Put(ctx, m1, bytes.NewReader(c1)); !errors.Is(err, checkpoint.ErrExists) {
			t.Fatalf("second put: %v, want ErrExists", err)
		}
		if err := s.Delete(ctx, m1.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, m1.ID); !errors.Is(err, checkpoint.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, m1.ID); !errors.Is(err, checkpoint.ErrNotFound) {
			t.Fatalf("stat of deleted: %v, want ErrNotFound", err)
		}
		if _, _, err := s.Open(ctx, m1.ID); !errors.Is(err, checkpoint.ErrNotFound) {
			t.Fatalf("open of deleted: %v, want ErrNotFound", err)
		}
		if list, _ := s.List(ctx); len(list) != 1 || list[0].ID != m2.ID {
			t.Fatalf("after delete listed %+v", list)
		}
	})
	t.Run("WrongContentIsNotStored", func(t *testing.T) {
		s := open(t)
		m, c := Content(t, base, 5, 10)
		bad := append([]byte(nil), c...)
		bad[len(bad)/2] ^= 1
		for name, content := range map[string][]byte{"flipped": bad, "cut": c[:len(c)-1], "longer": append(append([]byte(nil), c...), 0)} {
			if err := s.Put(ctx, m, bytes.NewReader(content)); !errors.Is(err, checkpoint.ErrCorrupt) {
				t.Fatalf("%s content: %v, want ErrCorrupt", name, err)
			}
			if list, _ := s.List(ctx); len(list) != 0 {
				t.Fatalf("%s content listed: %+v", name, list)
			}
		}
		if err := s.Put(ctx, m, bytes.NewReader(c)); err != nil {
			t.Fatalf("put after refused ones: %v", err)
		}
	})
}
