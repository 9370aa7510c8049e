package badger_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
)

// logState is a copy of a log's directory and of the high-water mark's
// outside copy, taken at one moment.
type logState struct{ dir, markCopy string }

// TestHighWaterCopiesGuardEachOther: the mark has two copies, one in the
// log's directory and one outside it; deleting or rolling back either one,
// while Badger's files have lost their end, is still refused with a report
// (the other copy holds the mark), and with Badger intact the log opens and
// rewrites the bad copy. Rolling back the whole directory, as restoring an
// old backup of it does, is refused too.
func TestHighWaterCopiesGuardEachOther(t *testing.T) {
	live := filepath.Join(t.TempDir(), "events")
	snapshot := func() logState {
		s := logState{dir: copyDir(t, live), markCopy: filepath.Join(t.TempDir(), "mark")}
		if out, err := exec.Command("cp", "-a", live+".highwater", s.markCopy).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		return s
	}
	l := openLog(t, live)
	var acked []loggedEvent
	appendN := func(n int) {
		for i := 0; i < n; i++ {
			stored, _, err := l.Append(ctx, fmt.Sprintf("s.%d", i%5), events.AnyVersion(), []events.Event{{Type: "a", Schema: 1, Payload: fmt.Appendf(nil, "%d", len(acked))}})
			if err != nil {
				t.Fatal(err)
			}
			acked = append(acked, loggedEvent{stored[0].Stream, stored[0].StreamSeq, stored[0].GlobalSeq, string(stored[0].Payload)})
		}
	}
	appendN(100)
	early := snapshot() // what a rollback brings back: 100 records
	appendN(100)
	late := snapshot() // the killed daemon's files: 200 records
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	inDir := func(s logState) string { return filepath.Join(s.dir, badger.HighWaterFile) }
	for _, c := range []struct {
		name              string
		badger            logState  // Badger's files
		inDirMark, copied *logState // the two copies; nil: deleted
		refused           bool
	}{
		{"in-dir copy deleted, Badger rolled back", early, nil, &late, true},
		{"in-dir copy rolled back with Badger", early, &early, &late, true},
		{"outside copy deleted, Badger rolled back", early, &late, nil, true},
		{"outside copy rolled back, Badger rolled back", early, &late, &early, true},
		{"in-dir copy deleted", late, nil, &late, false},
		{"in-dir copy rolled back", late, &early, &late, false},
		{"outside copy deleted", late, &late, nil, false},
		{"outside copy rolled back", late, &late, &early, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "events")
			if out, err := exec.Command("cp", "-a", c.badger.dir, dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			place := func(from *logState, src func(logState) string, to string) {
				_ = os.Remove(to)
				if from != nil {
					b, err := os.ReadFile(src(*from))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(to, b, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			place(c.inDirMark, inDir, filepath.Join(dir, badger.HighWaterFile))
			place(c.copied, func(s logState) string { return s.markCopy }, dir+".highwater")
			if c.refused {
				_, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
				var report *events.DamageError
				if !errors.As(err, &report) {
					t.Fatalf("opened (or failed untyped: %v) with global sequences 101-200 lost; want a damage report", err)
				}
				if !strings.Contains(err.Error(), "global sequences 101-200") || !strings.Contains(err.Error(), "high-water copies: ") {
					t.Fatalf("the report does not name the lost sequences or the bad copy: %v", err)
				}
				return
			}
			if got, err := outcome(t, dir, acked); got != "all present" {
				t.Fatalf("%s, %v; want every record", got, err)
			}
			// Both copies now hold the mark: either one alone still
			// refuses Badger's files rolled back.
			for _, kept := range []string{filepath.Join(dir, badger.HighWaterFile), dir + ".highwater"} {
				rolledBack := filepath.Join(t.TempDir(), "events")
				if out, err := exec.Command("cp", "-a", early.dir, rolledBack).CombinedOutput(); err != nil {
					t.Fatalf("cp: %v %s", err, out)
				}
				place(&logState{markCopy: kept}, func(s logState) string { return s.markCopy }, filepath.Join(rolledBack, badger.HighWaterFile))
				_, err := badger.Open(badger.Options{Dir: rolledBack, MarkCopy: filepath.Join(t.TempDir(), "none"), Profile: badger.ProfileBMC, GCInterval: -1})
				var report *events.DamageError
				if !errors.As(err, &report) {
					t.Fatalf("%s was not rewritten with the mark: %v", kept, err)
				}
			}
		})
	}
}
