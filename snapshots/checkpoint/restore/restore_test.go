package restore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/file"
	"github.com/statemgr/statemgr/snapshots/checkpoint/restore"
)

var restoreAt = time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)

var restorePlatform = checkpoint.PlatformSource{File: "p.hcl", BMC: "bmc0", Source: []byte(`bmc "bmc0" {}`)}

func appendN(t *testing.T, l *badger.Log, stream string, n int) {
	t.Helper()
	for i := range n {
		if _, _, err := l.Append(context.Background(), stream, events.AnyVersion(),
			[]events.Event{{Type: "load", Schema: 1, Payload: fmt.Appendf(nil, "%s-%d", stream, i)}}); err != nil {
			t.Fatal(err)
		}
	}
}

func readAll(t *testing.T, l *badger.Log) []events.Event {
	t.Helper()
	all, err := l.ReadAll(context.Background(), 1, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// restoreFixture is a data directory whose log holds 20 events, a
// checkpoint of them in a directory store, and 10 more events after it.
type restoreFixture struct {
	logDir, storeDir string
	id               string
	seq              uint64
	before           []events.Event // the whole log before the restore
}

func newRestoreFixture(t *testing.T) restoreFixture {
	t.Helper()
	root := t.TempDir()
	f := restoreFixture{logDir: filepath.Join(root, "data", "events"), storeDir: filepath.Join(root, "usb")}
	l, err := badger.Open(badger.Options{Dir: f.logDir, GCInterval: -1, MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, "host.0", 20)
	store, err := file.New(f.storeDir)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := checkpoint.NewManager(checkpoint.Config{Source: l, Store: store, Platform: restorePlatform, SpoolDir: root,
		Now: func() time.Time { return restoreAt }})
	if err != nil {
		t.Fatal(err)
	}
	made, err := mgr.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.id, f.seq = made.Manifest.ID, made.Manifest.Seq
	appendN(t, l, "host.0", 5)
	appendN(t, l, "chassis.0", 5)
	f.before = readAll(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f restoreFixture) restore(onStep func(string)) (*badger.RestoreReport, error) {
	store, err := file.New(f.storeDir)
	if err != nil {
		return nil, err
	}
	_, report, err := restore.FromStore(context.Background(), store, f.id, restorePlatform,
		badger.Options{Dir: f.logDir, GCInterval: -1, MinFreeBytes: -1}, restoreAt.Add(time.Hour), onStep)
	return report, err
}

// state opens the log (which finishes or discards an interrupted restore)
// and says whether it holds the old history or the restored one, failing
// the test on anything else.
func (f restoreFixture) state(t *testing.T) string {
	t.Helper()
	l, err := badger.Open(badger.Options{Dir: f.logDir, GCInterval: -1, MinFreeBytes: -1})
	if err != nil {
		t.Fatalf("the log does not open: %v", err)
	}
	defer l.Close()
	got := readAll(t, l)
	if equalEvents(got, f.before) {
		return "old"
	}
	// The restored history: the checkpoint's events, the sequences it
	// lacks skipped, the restore recorded.
	n := len(f.before)
	if len(got) == n+1 && equalEvents(got[:f.seq], f.before[:f.seq]) {
		ok := true
		for _, e := range got[f.seq:n] {
			ok = ok && e.Stream == badger.RestoreStream && e.Type == badger.EventSkippedByRestore
		}
		last := got[n]
		if ok && last.Stream == badger.RestoreStream && last.Type == badger.EventLogRestored && strings.Contains(string(last.Payload), f.id) {
			if h, _ := l.StreamHead(context.Background(), "chassis.0"); h != 0 {
				t.Fatalf("the restored log still has chassis.0 at %d", h)
			}
			return "new"
		}
	}
	t.Fatalf("the log holds neither the old history nor the restored one: %d events, last %+v", len(got), got[len(got)-1])
	return ""
}

func equalEvents(a, b []events.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].GlobalSeq != b[i].GlobalSeq || a[i].Stream != b[i].Stream || a[i].StreamSeq != b[i].StreamSeq || string(a[i].Payload) != string(b[i].Payload) {
			return false
		}
	}
	return true
}

const restoreChildEnv = "STATEMGR_RESTORE_CHILD"

// TestRestoreChild is TestRestoreKill9's child: it restores and stops
// dead at the step it is told, announcing it, until it is killed.
func TestRestoreChild(t *testing.T) {
	spec := os.Getenv(restoreChildEnv)
	if spec == "" {
		t.Skip("runs only as the child of TestRestoreKill9")
	}
	var f restoreFixture
	var killAt string
	parts := strings.Split(spec, "|")
	f.logDir, f.storeDir, f.id, killAt = parts[0], parts[1], parts[2], parts[3]
	_, err := f.restore(func(step string) {
		if step == killAt {
			fmt.Println("AT", step)
			select {}
		}
	})
	fmt.Println("restore ended:", err)
	os.Exit(5)
}

// TestRestoreKill9 kills -9 a real process restoring a checkpoint at each
// step of the restore: the log then opens with the old history (killed
// before the commit) or the restored one (from the commit on), never a
// mix, and a restore run again after a kill before the commit succeeds.
func TestRestoreKill9(t *testing.T) {
	steps := []string{badger.StepStaging, badger.StepStaged, badger.StepChecked, badger.StepCommitted,
		badger.StepOldMoved, badger.StepNewInPlace, badger.StepDone}
	for i, step := range steps {
		t.Run(step, func(t *testing.T) {
			f := newRestoreFixture(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreChild$")
			cmd.Env = append(os.Environ(), restoreChildEnv+"="+strings.Join([]string{f.logDir, f.storeDir, f.id, step}, "|"))
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(out)
			reached := false
			for lines.Scan() {
				if lines.Text() == "AT "+step {
					reached = true
					break
				}
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			if !reached {
				t.Fatalf("the child never reached step %s", step)
			}
			want := "old"
			if i >= 3 { // from StepCommitted on
				want = "new"
			}
			if got := f.state(t); got != want {
				t.Fatalf("killed at %s: the log holds the %s history, want the %s", step, got, want)
			}
			if want == "old" {
				if _, err := f.restore(nil); err != nil {
					t.Fatalf("restore again after the kill: %v", err)
				}
				if got := f.state(t); got != "new" {
					t.Fatalf("the restore run again left the %s history", got)
				}
			}
			for _, left := range []string{".restore", ".restore.highwater", ".restore-commit", ".replaced"} {
				if _, err := os.Stat(f.logDir + left); err == nil {
					t.Errorf("%s left behind", f.logDir+left)
				}
			}
		})
	}
}

// TestRestoreRefusesBeforeTouching: a checkpoint of another platform, a
// damaged one and an unknown id are refused, typed, and the log is left
// as it was, with nothing staged.
func TestRestoreRefusesBeforeTouching(t *testing.T) {
	f := newRestoreFixture(t)
	store, _ := file.New(f.storeDir)
	opts := badger.Options{Dir: f.logDir, GCInterval: -1, MinFreeBytes: -1}
	other := restorePlatform
	other.Source = []byte(`bmc "bmc1" {}`)
	if _, _, err := restore.FromStore(context.Background(), store, f.id, other, opts, restoreAt, nil); !errors.Is(err, checkpoint.ErrPlatformMismatch) {
		t.Fatalf("another platform: %v, want ErrPlatformMismatch", err)
	}
	if _, _, err := restore.FromStore(context.Background(), store, "20261207T140000.000Z-999", restorePlatform, opts, restoreAt, nil); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}
	path := filepath.Join(f.storeDir, f.id+".ckpt")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-40] ^= 0xff // in the content, near its end: found only by reading it whole
	if err := os.WriteFile(path, raw, 0o640); err != nil {
		t.Fatal(err)
	}
	steps := 0
	if _, _, err := restore.FromStore(context.Background(), store, f.id, restorePlatform, opts, restoreAt, func(string) { steps++ }); !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Fatalf("damaged: %v, want ErrCorrupt", err)
	}
	if steps != 0 {
		t.Fatalf("a damaged checkpoint went through %d restore steps", steps)
	}
	if _, err := os.Stat(f.logDir + ".restore"); err == nil {
		t.Fatal("a damaged checkpoint left a staged log")
	}
	if got := f.state(t); got != "old" {
		t.Fatalf("after the refusals the log holds the %s history", got)
	}
}

// TestRestoreOntoAFreshDataDirectory: a checkpoint restored where no log
// is gives the checkpoint's events, at their sequences, then the restore.
func TestRestoreOntoAFreshDataDirectory(t *testing.T) {
	f := newRestoreFixture(t)
	fresh := f
	fresh.logDir = filepath.Join(t.TempDir(), "events")
	report, err := fresh.restore(nil)
	if err != nil {
		t.Fatal(err)
	}
	if report.Replaced != 0 || report.Head != f.seq+1 {
		t.Fatalf("report %+v, want head %d replacing nothing", report, f.seq+1)
	}
	l, err := badger.Open(badger.Options{Dir: fresh.logDir, GCInterval: -1, MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := readAll(t, l)
	if len(got) != int(f.seq)+1 || !equalEvents(got[:f.seq], f.before[:f.seq]) || got[f.seq].Type != badger.EventLogRestored {
		t.Fatalf("restored %d events, want the checkpoint's %d then log_restored", len(got), f.seq)
	}
	// The restored log takes appends after the restore event.
	appendN(t, l, "host.0", 1)
	if h, _ := l.Head(context.Background()); h != f.seq+2 {
		t.Fatalf("head after an append %d, want %d", h, f.seq+2)
	}
}
