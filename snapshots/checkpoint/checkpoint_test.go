package checkpoint_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/events/eventstest"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

var ctx = context.Background()

var testPlatform = checkpoint.PlatformSource{File: "/etc/statemgr/platform.hcl", BMC: "bmc0", Source: []byte(`bmc "bmc0" {}`)}

// stepClock is a clock that advances a second per reading.
func stepClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func openLog(t *testing.T) *badger.Log {
	t.Helper()
	l, err := badger.Open(badger.Options{Dir: t.TempDir(), Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func newManager(t *testing.T, src checkpoint.Source, store checkpoint.Store, keep int) *checkpoint.Manager {
	t.Helper()
	m, err := checkpoint.NewManager(checkpoint.Config{Source: src, Store: store, Platform: testPlatform, Now: stepClock(),
		Keep: keep, SpoolDir: t.TempDir(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// contents reads a checkpoint back: its platform and its records.
func contents(t *testing.T, store checkpoint.Store, id string) (string, map[string][]byte) {
	t.Helper()
	man, rc, err := store.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var platform string
	records := map[string][]byte{}
	err = checkpoint.Read(rc, man, checkpoint.Visitor{
		Platform: func(file string, src []byte) error { platform = file + ":" + string(src); return nil },
		Record:   func(k, v []byte) error { records[string(k)] = append([]byte(nil), v...); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return platform, records
}

// TestCheckpointIsConsistentWhileAppending takes checkpoints of a real
// event log while appenders write to it: each holds exactly the events
// through its sequence (gapless, none after), the global head equal to it,
// and the snapshots written before it, with its platform.
func TestCheckpointIsConsistentWhileAppending(t *testing.T) {
	l := openLog(t)
	snaps := snapbadger.New(l.DB())
	if err := snaps.Save(ctx, snapshots.Snapshot{Stream: "host.0", Seq: 0, Schema: 1, Time: time.Unix(1, 0), State: []byte("s")}, 3); err != nil {
		t.Fatal(err)
	}
	store := checkpoint.NewMemStore()
	m := newManager(t, l, store, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := l.Append(ctx, fmt.Sprintf("host.%d", w), events.AnyVersion(), []events.Event{eventstest.Ev("a", fmt.Sprint(i))}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var made []checkpoint.Manifest
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		c, err := m.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, c.Manifest)
	}
	close(stop)
	wg.Wait()
	for _, man := range made {
		platform, records := contents(t, store, man.ID)
		if want := testPlatform.File + ":" + string(testPlatform.Source); platform != want {
			t.Errorf("%s: platform %q, want %q", man.ID, platform, want)
		}
		if man.Platform != testPlatform.Ref() || man.Seq == 0 {
			t.Errorf("%s: manifest %+v", man.ID, man)
		}
		var head uint64
		if h := records["H"]; len(h) == 8 {
			head = binary.BigEndian.Uint64(h)
		}
		if head != man.Seq {
			t.Errorf("%s: global head %d, manifest sequence %d", man.ID, head, man.Seq)
		}
		var stored uint64
		for k := range records {
			if k[0] == 'g' {
				stored++
				if g := binary.BigEndian.Uint64([]byte(k[1:])); g > man.Seq {
					t.Errorf("%s: holds event %d past its sequence %d", man.ID, g, man.Seq)
				}
			}
		}
		if stored != man.Seq {
			t.Errorf("%s: %d events, want %d (1..%d)", man.ID, stored, man.Seq, man.Seq)
		}
		if _, ok := records["nhost.0\x00\x00\x00\x00\x00\x00\x00\x00\x00"]; !ok {
			t.Errorf("%s: lacks the snapshot", man.ID)
		}
	}
	if made[0].Seq == made[len(made)-1].Seq {
		t.Fatalf("the log did not grow between checkpoints (%d): the test proves nothing", made[0].Seq)
	}
}

// TestReadRefusesDamagedContent: a byte changed anywhere, or the content
// cut anywhere, is refused as corrupt.
func TestReadRefusesDamagedContent(t *testing.T) {
	l := openLog(t)
	for i := range 3 {
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	store := checkpoint.NewMemStore()
	c, err := newManager(t, l, store, 0).Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	man, rc, _ := store.Open(ctx, c.Manifest.ID)
	good, _ := io.ReadAll(rc)
	if err := checkpoint.Read(bytes.NewReader(good), man, checkpoint.Visitor{}); err != nil {
		t.Fatalf("intact content refused: %v", err)
	}
	for off := range good {
		bad := append([]byte(nil), good...)
		bad[off] ^= 0x01
		if err := checkpoint.Read(bytes.NewReader(bad), man, checkpoint.Visitor{}); !errors.Is(err, checkpoint.ErrCorrupt) && !errors.Is(err, checkpoint.ErrUnknownFormat) {
			t.Fatalf("byte %d flipped: %v, want ErrCorrupt", off, err)
		}
		if err := checkpoint.Read(bytes.NewReader(good[:off]), man, checkpoint.Visitor{}); !errors.Is(err, checkpoint.ErrCorrupt) {
			t.Fatalf("cut at %d: %v, want ErrCorrupt", off, err)
		}
	}
	other := man
	other.Seq++
	if err := checkpoint.Read(bytes.NewReader(good), other, checkpoint.Visitor{}); !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Fatalf("manifest with another sequence: %v, want ErrCorrupt", err)
	}
}

// TestRetentionKeepsTheNewest: with keep 2, each create leaves the two
// newest.
func TestRetentionKeepsTheNewest(t *testing.T) {
	l := openLog(t)
	store := checkpoint.NewMemStore()
	m := newManager(t, l, store, 2)
	var ids []string
	for i := range 4 {
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
		c, err := m.Create(ctx)
		if err != nil || c.PruneError != nil {
			t.Fatal(err, c.PruneError)
		}
		ids = append(ids, c.Manifest.ID)
		if i >= 2 && (len(c.Deleted) != 1 || c.Deleted[0] != ids[i-2]) {
			t.Fatalf("create %d deleted %v, want [%s]", i, c.Deleted, ids[i-2])
		}
	}
	list, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != ids[3] || list[1].ID != ids[2] {
		t.Fatalf("listed %+v, want %s then %s", list, ids[3], ids[2])
	}
}

// TestFailedUploadListsNothing: a Put cut midway leaves no checkpoint.
func TestFailedUploadListsNothing(t *testing.T) {
	l := openLog(t)
	if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "1")}); err != nil {
		t.Fatal(err)
	}
	store := checkpoint.NewMemStore()
	store.FailPutAfter = 40
	if _, err := newManager(t, l, store, 0).Create(ctx); !errors.Is(err, checkpoint.ErrInjected) {
		t.Fatalf("create: %v, want the injected fault", err)
	}
	if list, _ := store.List(ctx); len(list) != 0 {
		t.Fatalf("listed %+v after a failed upload", list)
	}
}

// blockingSource holds an export until released.
type blockingSource struct{ started, release chan struct{} }

func (b blockingSource) Export(context.Context, func(k, v []byte) error) (uint64, error) {
	close(b.started)
	<-b.release
	return 0, nil
}

// TestOneCreateAtATime: a create while another runs is refused with
// ErrInProgress, and the first completes.
func TestOneCreateAtATime(t *testing.T) {
	src := blockingSource{started: make(chan struct{}), release: make(chan struct{})}
	m := newManager(t, src, checkpoint.NewMemStore(), 0)
	done := make(chan error, 1)
	go func() { _, err := m.Create(ctx); done <- err }()
	<-src.started
	if _, err := m.Create(ctx); !errors.Is(err, checkpoint.ErrInProgress) {
		t.Fatalf("second create: %v, want ErrInProgress", err)
	}
	close(src.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestIDs: ids name their time and sequence, and anything else is refused.
func TestIDs(t *testing.T) {
	at := time.Date(2026, 12, 7, 13, 22, 1, 123456789, time.UTC)
	id := checkpoint.NewID(at, 42)
	if id != "20261207T132201.123Z-42" {
		t.Fatalf("id %q", id)
	}
	got, seq, err := checkpoint.ParseID(id)
	if err != nil || seq != 42 || !got.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("ParseID(%q) = %v %d %v", id, got, seq, err)
	}
	for _, bad := range []string{"", "../x", "20261207T132201.123Z", "20261207T132201.123Z-", "20261307T132201.123Z-1", "20261207T132201.123Z-1/"} {
		if _, _, err := checkpoint.ParseID(bad); !errors.Is(err, checkpoint.ErrBadID) {
			t.Errorf("ParseID(%q): %v, want ErrBadID", bad, err)
		}
	}
}
