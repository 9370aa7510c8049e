package badger_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
)

// campaignDamages are the ways a failing flash or an interrupted write
// damages a file (see damageFile).
var campaignDamages = []string{"flip", "truncate", "zero", "delete"}

// outsideMark names the high-water mark's copy outside the log's directory
// in the campaign's file list.
const outsideMark = "<dir>.highwater"

// copyLog is copyDir plus the high-water mark's outside copy.
func copyLog(t *testing.T, from string) string {
	t.Helper()
	to := copyDir(t, from)
	b, err := os.ReadFile(from + ".highwater")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to+".highwater", b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

// fileKind names a log file by what it is, so the campaign covers each kind
// once however Badger numbers its files.
func fileKind(name string) string {
	if ext := filepath.Ext(name); ext == ".mem" || ext == ".vlog" || ext == ".sst" {
		return "*" + ext
	}
	return name
}

// TestCorruptionCampaign damages every kind of file a killed log leaves
// (write-ahead log, value log, tables, MANIFEST, KEYREGISTRY, DISCARD, the
// both copies of the high-water mark; snapshots live in the same files) in each of
// campaignDamages, and opens the directory twice: each outcome must be
// "all present" (every acknowledged record as acknowledged, snapshots
// listable, a fresh sequence for the next append) or "refused" with a
// damage report, never silent loss, a reused sequence or a panic. -short
// damages one file of each kind; the full run damages every file.
func TestCorruptionCampaign(t *testing.T) {
	base, acked := writeAbruptly(t, true)
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]string{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			kinds[fileKind(e.Name())] = append(kinds[fileKind(e.Name())], e.Name())
		}
	}
	for _, want := range []string{"*.mem", "*.vlog", "*.sst", "MANIFEST", "KEYREGISTRY", "DISCARD", badger.HighWaterFile} {
		if len(kinds[want]) == 0 {
			t.Fatalf("a run left no %s file (files: %v): the campaign would not cover it", want, kinds)
		}
	}
	kinds[outsideMark] = []string{outsideMark}
	var files []string
	for _, names := range kinds {
		if testing.Short() {
			names = names[:1]
		}
		files = append(files, names...)
	}
	sort.Strings(files)
	tally := map[string]int{}
	for _, file := range files {
		for _, damage := range campaignDamages {
			t.Run(file+"/"+damage, func(t *testing.T) {
				dir := copyLog(t, base)
				path := filepath.Join(dir, file)
				if file == outsideMark {
					path = dir + ".highwater"
				}
				damageFile(t, path, damage)
				first, err := campaignOutcome(t, dir, acked)
				if err != nil {
					t.Fatal(err)
				}
				// A refusal must not be forgotten by the next start, nor
				// an open that succeeded have damaged what it kept.
				second, err := campaignOutcome(t, dir, nil)
				if err != nil || second != first {
					t.Fatalf("second start: %s, %v; the first was %s", second, err, first)
				}
				tally[first]++
			})
		}
	}
	t.Logf("%d files x %d damages: %v", len(files), len(campaignDamages), tally)
}

// campaignOutcome is outcome plus the snapshot store: a damaged snapshot is
// skipped with a decode error, never a failure to list. With acked nil it
// checks only that the log opens or is refused as before.
func campaignOutcome(t *testing.T, dir string, acked []loggedEvent) (string, error) {
	t.Helper()
	if acked == nil {
		l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
		if err != nil {
			var damaged *events.DamageError
			if errors.As(err, &damaged) {
				return "refused", nil
			}
			return "", err
		}
		defer l.Close()
		return "all present", listSnapshots(l)
	}
	got, err := outcome(t, dir, acked)
	if err != nil || got != "all present" {
		return got, err
	}
	l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		return "", fmt.Errorf("opened once, then not: %w", err)
	}
	defer l.Close()
	return got, listSnapshots(l)
}

func listSnapshots(l *badger.Log) error {
	store := snapbadger.New(l.DB())
	for s := 0; s < 7; s++ {
		if _, _, err := store.List(ctx, fmt.Sprintf("s.%d", s)); err != nil {
			return err
		}
	}
	return nil
}
