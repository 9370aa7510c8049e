package logbench

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/statemgr/statemgr/events"
)

// TestGroupFileAcksAreDurableInOrder checks the Raw baseline: every
// acknowledged record is in the file at the offset it was acknowledged
// with, and each appender's records are in the order it appended them.
func TestGroupFileAcksAreDurableInOrder(t *testing.T) {
	const workers, perWorker, size = 16, 200, 64
	path := filepath.Join(t.TempDir(), "raw.log")
	g, err := openGroupFile(path, make([]byte, size))
	if err != nil {
		t.Fatal(err)
	}
	offsets := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := uint64(1); seq <= perWorker; seq++ {
				off, err := g.write(context.Background(), g.record(w, seq))
				if err != nil {
					t.Errorf("worker %d, record %d: %v", w, seq, err)
					return
				}
				offsets[w] = append(offsets[w], off)
			}
		}()
	}
	wg.Wait()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := workers * perWorker * size; len(data) != want {
		t.Fatalf("file holds %d bytes, want %d", len(data), want)
	}
	for w, offs := range offsets {
		prev := int64(-1)
		for i, off := range offs {
			rec := data[off : off+size]
			gotW, gotSeq := binary.BigEndian.Uint64(rec), binary.BigEndian.Uint64(rec[8:])
			if gotW != uint64(w) || gotSeq != uint64(i+1) {
				t.Fatalf("worker %d record %d acked at %d, file has worker %d record %d there", w, i+1, off, gotW, gotSeq)
			}
			if off <= prev {
				t.Fatalf("worker %d record %d at %d is not after record %d at %d", w, i+1, off, i, prev)
			}
			prev = off
		}
	}
}

func TestGroupFileRefusesAfterClose(t *testing.T) {
	g, err := openGroupFile(filepath.Join(t.TempDir(), "raw.log"), make([]byte, DefaultPayloadSize))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Append(context.Background(), 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Append(context.Background(), 0, 2); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
}

func TestGroupFileRefusesShortRecords(t *testing.T) {
	_, err := openGroupFile(filepath.Join(t.TempDir(), "raw.log"), make([]byte, 8))
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("openGroupFile with 8-byte records = %v, want ErrConfig", err)
	}
}
