package badger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/events/eventstest"
)

var ctx = context.Background()

func openLog(t *testing.T, dir string) *badger.Log {
	t.Helper()
	l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type dirLog struct {
	*badger.Log
	dir string
}

func TestContract(t *testing.T) {
	eventstest.Run(t, eventstest.Harness{
		Open: func(t *testing.T) events.Log {
			dir := t.TempDir()
			return dirLog{openLog(t, dir), dir}
		},
		Reopen: func(t *testing.T, l events.Log) events.Log {
			d := l.(dirLog)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			return dirLog{openLog(t, d.dir), d.dir}
		},
	})
}

func TestProfiles(t *testing.T) {
	for _, name := range []string{"bmc", "server"} {
		p, err := badger.ParseProfile(name)
		if err != nil {
			t.Fatal(err)
		}
		l, err := badger.Open(badger.Options{Dir: t.TempDir(), Profile: p})
		if err != nil {
			t.Fatalf("profile %s: %v", name, err)
		}
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "1")}); err != nil {
			t.Fatalf("profile %s: %v", name, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := badger.ParseProfile("tiny"); err == nil {
		t.Fatal("unknown profile accepted")
	}
}

func TestFailedCommitIsNeverAcknowledged(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"disk full", fmt.Errorf("write vlog: %w", syscall.ENOSPC), events.ErrNoSpace},
		{"fsync failed", fmt.Errorf("sync wal: %w", syscall.EIO), events.ErrSyncFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir)
			if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "1")}); err != nil {
				t.Fatal(err)
			}
			l.SetCommit(func(*badgerdb.Txn) error { return c.err })
			_, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "2")})
			if !errors.Is(err, c.want) {
				t.Fatalf("append with a failing commit: %v, want %v", err, c.want)
			}
			l.SetCommit((*badgerdb.Txn).Commit)
			if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "3")}); !errors.Is(err, events.ErrLogFailed) {
				t.Fatalf("append after a failed commit: %v, want ErrLogFailed", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openLog(t, dir)
			defer l.Close()
			all, err := l.ReadAll(ctx, 1, 0)
			if err != nil || len(all) != 1 {
				t.Fatalf("after reopen: %d events, %v; want only the acknowledged one", len(all), err)
			}
			stored, _, err := l.Append(ctx, "host.0", events.ExpectVersion(1), []events.Event{eventstest.Ev("a", "4")})
			if err != nil || stored[0].GlobalSeq != 2 {
				t.Fatalf("append after reopen: %+v, %v", stored, err)
			}
		})
	}
}

// TestRealDiskFull fills a small tmpfs: Badger's own ENOSPC must surface as
// events.ErrNoSpace, never as an acknowledged event that is not there, and
// never as a SIGBUS from a write to a mapped page the filesystem cannot
// back. The 64 MiB case is a BMC flash partition, with the reserve sized
// down to it.
func TestRealDiskFull(t *testing.T) {
	for _, size := range []string{"64m", "160m"} {
		t.Run(size, func(t *testing.T) { fillDisk(t, size) })
	}
}

func fillDisk(t *testing.T, size string) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	dir := filepath.Join(mnt, "log")
	l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		t.Fatalf("badger does not open on a %s tmpfs: %v", size, err)
	}
	payload := make([]byte, 16<<10)
	var acked []events.Event
	var appendErr error
	for i := 0; i < 10000; i++ {
		e := eventstest.Ev("fill", fmt.Sprint(i))
		e.Payload = append([]byte(fmt.Sprintf("%08d", i)), payload...)
		stored, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{e})
		if err != nil {
			appendErr = err
			break
		}
		acked = append(acked, stored...)
	}
	if appendErr == nil {
		t.Fatalf("%s tmpfs never filled", size)
	}
	if !errors.Is(appendErr, events.ErrNoSpace) {
		t.Fatalf("append on a full disk: %v, want ErrNoSpace", appendErr)
	}
	t.Logf("disk full after %d acknowledged events: %v", len(acked), appendErr)
	// The guard rejected the append without writing: the log is still
	// usable, and appends resume once space is freed.
	if err := os.WriteFile(filepath.Join(mnt, "x"), nil, 0o600); err != nil {
		t.Fatalf("the guard left the filesystem completely full: %v", err)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=320m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("cannot grow the tmpfs: %v %s", err, out)
	}
	if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("after", "x")}); err != nil {
		t.Fatalf("append after freeing space: %v", err)
	}
	_ = l.Close()
	l, err = badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		t.Fatalf("reopen after disk full: %v", err)
	}
	defer l.Close()
	for _, want := range acked {
		got, err := l.ReadStream(ctx, "host.0", want.StreamSeq, 1)
		if err != nil || len(got) != 1 || string(got[0].Payload[:8]) != string(want.Payload[:8]) {
			t.Fatalf("acknowledged event %d lost after disk full: %v", want.StreamSeq, err)
		}
	}
}

func TestDamagedRecordIsReported(t *testing.T) {
	l := openLog(t, t.TempDir())
	defer l.Close()
	for i := 0; i < 3; i++ {
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	good := events.Encode(nil, events.Event{GlobalSeq: 2, Stream: "host.0", StreamSeq: 2, Type: "a", Schema: 1})
	future := append([]byte(nil), good...)
	future[0] = events.CodecVersion + 1
	for _, c := range []struct {
		name string
		rec  []byte
		want error
	}{
		{"torn", good[:5], events.ErrCorrupt},
		{"flipped", append(append([]byte(nil), good[:6]...), append([]byte{good[6] ^ 1}, good[7:]...)...), events.ErrCorrupt},
		{"future codec", future, events.ErrUnknownVersion},
	} {
		key := append([]byte{'g'}, 0, 0, 0, 0, 0, 0, 0, 2)
		if err := l.DB().Update(func(txn *badgerdb.Txn) error { return txn.Set(key, c.rec) }); err != nil {
			t.Fatal(err)
		}
		_, err := l.ReadAll(ctx, 1, 0)
		var re *events.RecordError
		if !errors.Is(err, c.want) || !errors.As(err, &re) || re.GlobalSeq != 2 {
			t.Errorf("%s: ReadAll: %v, want %v at global 2", c.name, err, c.want)
		}
		if _, err := l.ReadStream(ctx, "host.0", 1, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: ReadStream: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestOpensAfterKillDuringLogFileCreation reproduces what a kill between
// Badger creating its next value log or memtable log and sizing it leaves
// behind: an empty .vlog or .mem file. Badger v4.9.6 alone refuses to open
// such a directory.
func TestOpensAfterKillDuringLogFileCreation(t *testing.T) {
	for _, ext := range []string{"vlog", "mem"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir)
			if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), []events.Event{eventstest.Ev("a", "1")}); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			torn := filepath.Join(dir, fmt.Sprintf("%06d.%s", 999999, ext))
			if err := os.WriteFile(torn, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			l = openLog(t, dir)
			defer l.Close()
			if all, err := l.ReadAll(ctx, 1, 0); err != nil || len(all) != 1 {
				t.Fatalf("after reopening over an empty .%s: %d events, %v", ext, len(all), err)
			}
		})
	}
}

// TestReserveFitsTheFilesystem: the bmc profile keeps its full reserve on a
// large filesystem, a quarter of a small one, and never less than a flush;
// a filesystem that cannot hold the reserve is refused at open as "not
// enough space" (events.ErrNoSpace), not left to fail later.
func TestReserveFitsTheFilesystem(t *testing.T) {
	for _, c := range []struct{ fs, want int64 }{
		{4 << 30, 64 << 20},
		{256 << 20, 64 << 20},
		{160 << 20, 40 << 20},
		{64 << 20, 16 << 20},
		{16 << 20, 12 << 20},
	} {
		if got := badger.ProfileBMC.Reserve(c.fs); got != c.want {
			t.Errorf("reserve on %d MiB: %d MiB, want %d MiB", c.fs>>20, got>>20, c.want>>20)
		}
	}
	small := func(string) (badger.FilesystemSpace, error) {
		return badger.FilesystemSpace{Size: 16 << 20, Available: 11 << 20}, nil
	}
	_, err := badger.Open(badger.Options{Dir: t.TempDir(), Profile: badger.ProfileBMC, GCInterval: -1, Statfs: small})
	if !errors.Is(err, events.ErrNoSpace) || !strings.Contains(err.Error(), "not enough space: 11 MiB free of 16 MiB") {
		t.Fatalf("open on a 16 MiB filesystem with 11 MiB free: %v; want not enough space", err)
	}
}
