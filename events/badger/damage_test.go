package badger_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
)

// usedLen is the length of b without its trailing zeros: Badger
// preallocates its write-ahead and value logs, and damage to the zeros
// past their end would test nothing.
func usedLen(b []byte) int {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return n
}

// damageFile applies damage to path: flip inverts 64 bytes at offset 2000
// (or in the middle of a smaller file), truncate cuts the used part in
// half, zero clears the last 4 KiB of the used part, delete removes it.
func damageFile(t *testing.T, path, damage string) {
	t.Helper()
	if damage == "delete" {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	used := usedLen(b)
	switch damage {
	case "flip":
		off := 2000
		if off+64 > used {
			off = max(0, used/2-32)
		}
		for i := off; i < min(off+64, len(b)); i++ {
			b[i] ^= 0xff
		}
	case "truncate":
		b = b[:used/2]
	case "zero":
		clear(b[max(0, used-4096):used])
	default:
		t.Fatalf("unknown damage %q", damage)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a log directory (as cp -a does).
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	if out, err := exec.Command("cp", "-a", from+"/.", to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return to
}

// loggedEvent is what an appender was told was stored.
type loggedEvent struct {
	stream  string
	seq, g  uint64
	payload string
}

// abruptLog writes two rounds of acknowledged appends, a clean close
// between them (so that tables exist) and large payloads every 50 events
// (so that the value log holds records), and returns a copy of the
// directory taken while the log is still open: what the page cache holds,
// which is what a SIGKILL leaves.
func abruptLog(t *testing.T) (dir string, acked []loggedEvent) {
	t.Helper()
	return writeAbruptly(t, false)
}

// writeAbruptly is abruptLog; withSnapshots also saves a snapshot every 20
// events (the snapshot store shares the log's database) and copies the
// high-water mark's outside copy too, so the copy holds every file kind a
// daemon's data directory does.
func writeAbruptly(t *testing.T, withSnapshots bool) (dir string, acked []loggedEvent) {
	t.Helper()
	live := t.TempDir()
	round := func(l *badger.Log, r int) {
		store := snapbadger.New(l.DB())
		for i := 0; i < 300; i++ {
			e := events.Event{Type: "a", Schema: 1, Payload: fmt.Appendf(nil, "%d/%d", r, i)}
			if i%50 == 0 {
				e.Payload = append(e.Payload, bytes.Repeat([]byte{'v'}, 70<<10)...)
			}
			stream := fmt.Sprintf("s.%d", i%7)
			stored, _, err := l.Append(ctx, stream, events.AnyVersion(), []events.Event{e})
			if err != nil {
				t.Fatal(err)
			}
			acked = append(acked, loggedEvent{stored[0].Stream, stored[0].StreamSeq, stored[0].GlobalSeq, string(stored[0].Payload)})
			if withSnapshots && i%20 == 0 {
				snap := snapshots.Snapshot{Stream: stream, Seq: stored[0].StreamSeq, Schema: 1, State: fmt.Appendf(nil, "state %d/%d", r, i)}
				if err := store.Save(ctx, snap, 2); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	l := openLog(t, live)
	round(l, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, live)
	round(l, 1)
	if withSnapshots {
		dir = copyLog(t, live)
	} else {
		dir = copyDir(t, live)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, acked
}

// outcome opens a damaged directory and says what happened: "refused" with
// a damage report, "all present" when every acknowledged event reads back
// as acknowledged and a new append gets a fresh global sequence, or a
// failure (a panic, an untyped error, a lost or reused record).
func outcome(t *testing.T, dir string, acked []loggedEvent) (string, error) {
	t.Helper()
	var l *badger.Log
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		l, err = badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
	}()
	var damaged *events.DamageError
	if errors.As(err, &damaged) {
		return "refused", nil
	}
	if err != nil {
		return "", fmt.Errorf("open failed without a damage report: %w", err)
	}
	defer l.Close()
	all, err := l.ReadAll(ctx, 1, 0)
	if err != nil {
		return "", fmt.Errorf("opened, then reading fails: %w", err)
	}
	for _, a := range acked {
		if a.g > uint64(len(all)) {
			return "", fmt.Errorf("silent loss: acknowledged global %d absent, the log ends at %d", a.g, len(all))
		}
		if e := all[a.g-1]; e.Stream != a.stream || e.StreamSeq != a.seq || string(e.Payload) != a.payload {
			return "", fmt.Errorf("silent loss: global %d is %s/%d, acknowledged as %s/%d", a.g, e.Stream, e.StreamSeq, a.stream, a.seq)
		}
	}
	stored, _, err := l.Append(ctx, "after", events.AnyVersion(), []events.Event{{Type: "a", Schema: 1}})
	if err != nil {
		return "", fmt.Errorf("opened, then appending fails: %w", err)
	}
	if last := acked[len(acked)-1].g; stored[0].GlobalSeq <= last {
		return "", fmt.Errorf("global sequence %d reused (acknowledged up to %d)", stored[0].GlobalSeq, last)
	}
	return "all present", nil
}

// TestDamagedFilesAreReported: each damage that loses or hides acknowledged
// records is refused with a report naming the file and the sequences, and
// keeps being refused (a refusal must not be forgotten by the next start
// because Badger cut its write-ahead log on the first); a damage that loses
// nothing opens with every record.
func TestDamagedFilesAreReported(t *testing.T) {
	base, acked := abruptLog(t)
	mem, _ := filepath.Glob(filepath.Join(base, "*.mem"))
	sst, _ := filepath.Glob(filepath.Join(base, "*.sst"))
	vlog, _ := filepath.Glob(filepath.Join(base, "000001.vlog"))
	if len(mem) != 1 || len(sst) == 0 || len(vlog) != 1 {
		t.Fatalf("the log lacks a write-ahead log, a table or a value log: %v %v %v", mem, sst, vlog)
	}
	mem0 := filepath.Base(mem[0])
	for _, c := range []struct {
		file, damage string
		want         string // "all present", or substrings of the report
		missing      string // the missing ranges, when known
	}{
		{filepath.Base(mem[0]), "flip", mem0 + " is damaged at byte", "312-600"},
		{filepath.Base(mem[0]), "zero", "write-ahead log was lost", "578-600"},
		{filepath.Base(mem[0]), "delete", "write-ahead log was lost", "301-600"},
		{"MANIFEST", "delete", "MANIFEST is missing", "1-600"},
		{"MANIFEST", "truncate", "are kept in damaged/: 0000", "1-300"},
		{"MANIFEST", "flip", "MANIFEST: manifest has", ""},
		{filepath.Base(sst[0]), "truncate", "table " + filepath.Base(sst[0]) + ": ", ""},
		{filepath.Base(sst[0]), "flip", "checksum", ""},
		{filepath.Base(sst[0]), "delete", "listed in the MANIFEST is missing", ""},
		{"000001.vlog", "delete", "fail their checksum", "1, 51, 101, 151, 201, 251"},
		{"KEYREGISTRY", "flip", "all present", ""},
		{badger.HighWaterFile, "delete", "all present", ""},
	} {
		t.Run(c.file+"/"+c.damage, func(t *testing.T) {
			dir := copyDir(t, base)
			damageFile(t, filepath.Join(dir, c.file), c.damage)
			if c.want == "all present" {
				if got, err := outcome(t, dir, acked); got != c.want {
					t.Fatalf("%s, %v; want every record", got, err)
				}
				return
			}
			for attempt := 0; attempt < 2; attempt++ {
				_, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
				var report *events.DamageError
				if !errors.As(err, &report) || !errors.Is(err, events.ErrDamaged) {
					t.Fatalf("start %d: %v; want a damage report", attempt+1, err)
				}
				msg := err.Error()
				for _, want := range []string{c.want, "statemgrd --salvage", dir} {
					if !strings.Contains(msg, want) {
						t.Errorf("start %d: report lacks %q: %s", attempt+1, want, msg)
					}
				}
				if c.missing != "" && !strings.Contains(msg, "global sequences "+c.missing+")") {
					t.Errorf("start %d: report does not name sequences %s: %s", attempt+1, c.missing, msg)
				}
			}
		})
	}
}

// TestSalvageKeepsWhatVerifies: after each damage that is refused,
// SalvageIfDamaged rebuilds a log that opens, keeps every acknowledged
// record it can verify at its global and stream sequence, marks every
// other one with a record_lost event (never a silent gap, never a reused
// sequence), ends with log_salvaged and appends after it. Records Badger
// itself cannot reach (tables no MANIFEST lists, write-ahead log entries
// past the damage) are kept.
func TestSalvageKeepsWhatVerifies(t *testing.T) {
	base, acked := abruptLog(t)
	mem, _ := filepath.Glob(filepath.Join(base, "*.mem"))
	sst, _ := filepath.Glob(filepath.Join(base, "*.sst"))
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		file, damage string
		keptAtLeast  uint64
	}{
		{filepath.Base(mem[0]), "flip", 550}, // one record lost, the rest of its stream dropped
		{filepath.Base(mem[0]), "zero", 577}, // the records in the zeroed range are gone
		{filepath.Base(mem[0]), "delete", 300},
		{"MANIFEST", "delete", 600},
		{"MANIFEST", "truncate", 600},
		{filepath.Base(sst[0]), "flip", 1},
		{"000001.vlog", "delete", 1},
	} {
		t.Run(c.file+"/"+c.damage, func(t *testing.T) {
			dir := copyDir(t, base)
			damageFile(t, filepath.Join(dir, c.file), c.damage)
			opts := badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1}
			report, err := badger.SalvageIfDamaged(opts, now)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(report)
			if report.Kept < c.keptAtLeast || report.Head != 601 {
				t.Fatalf("kept %d (want at least %d), head %d (want 601)", report.Kept, c.keptAtLeast, report.Head)
			}
			if _, err := os.Stat(report.DamagedDir); err != nil {
				t.Fatalf("the damaged directory was not kept: %v", err)
			}
			l, err := badger.Open(opts)
			if err != nil {
				t.Fatalf("the salvaged log does not open: %v", err)
			}
			defer l.Close()
			all, err := l.ReadAll(ctx, 1, 0)
			if err != nil || len(all) != 601 {
				t.Fatalf("salvaged log: %d records, %v; want 601", len(all), err)
			}
			var kept uint64
			for _, a := range acked {
				e := all[a.g-1]
				switch {
				case e.Stream == a.stream && e.StreamSeq == a.seq && string(e.Payload) == a.payload:
					kept++
				case e.Stream != badger.SalvageStream || e.Type != badger.EventRecordLost:
					t.Fatalf("global %d is %s/%d %s: neither the acknowledged record nor record_lost", a.g, e.Stream, e.StreamSeq, e.Type)
				}
			}
			if kept != report.Kept {
				t.Fatalf("%d records read back as acknowledged, the report says %d", kept, report.Kept)
			}
			if last := all[600]; last.Type != badger.EventLogSalvaged || !strings.Contains(string(last.Payload), report.DamagedDir) {
				t.Fatalf("the last record is %s %s, want log_salvaged", last.Type, last.Payload)
			}
			for _, s := range []string{"s.0", "s.3", badger.SalvageStream} {
				if _, err := l.ReadStream(ctx, s, 1, 0); err != nil {
					t.Fatalf("stream %s does not read: %v", s, err)
				}
			}
			stored, _, err := l.Append(ctx, "s.0", events.AnyVersion(), []events.Event{{Type: "a", Schema: 1}})
			if err != nil || stored[0].GlobalSeq != 602 {
				t.Fatalf("append after salvage: %+v, %v; want global 602", stored, err)
			}
		})
	}
}
