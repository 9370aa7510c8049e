package badger_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/events/eventstest"
)

// goroutineStacks returns every goroutine's stack.
func goroutineStacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Badger's compaction workers wake every 50 ms each, written to or not: an
// idle bmc-profile log must run none of them (issue 16 item 3).
func TestBMCLogRunsNoBadgerCompactionWorkers(t *testing.T) {
	l, err := badger.Open(badger.Options{Dir: t.TempDir(), Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if stacks := goroutineStacks(); strings.Contains(stacks, "levelsController).runCompactor") {
		t.Fatalf("a bmc-profile log runs Badger's ticking compaction workers:\n%s", stacks)
	}
}

// With no compaction workers, level 0 must still be compacted as writes
// fill memtables: three memtables' worth (the profile stalls writes at two
// level-0 tables) are all acknowledged and read back, and level 0 drains.
func TestBMCLogCompactsLevelZeroItself(t *testing.T) {
	dir := t.TempDir()
	l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const appends, perAppend = 600, 100 // 600 × 100 × ~420 B ≈ 25 MB: three 8 MiB memtables
	payload := make([]byte, 400)
	for i := range appends {
		batch := make([]events.Event, perAppend)
		for j := range batch {
			e := eventstest.Ev("fill", fmt.Sprint(i*perAppend+j))
			e.Payload = append(fmt.Appendf(nil, "%08d", i*perAppend+j), payload...)
			batch[j] = e
		}
		if _, _, err := l.Append(ctx, fmt.Sprintf("host.%d", i%7), events.AnyVersion(), batch); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	flushed := false
	for _, tbl := range l.DB().Tables() {
		flushed = flushed || tbl.Level > 0
	}
	// The compactor checks for a while after the last commit; a flush
	// still in progress lands inside that window.
	deadline := time.Now().Add(time.Minute)
	for l.DB().Levels()[0].NumTables > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("level 0 still holds %d tables a minute after the last write:\n%s", l.DB().Levels()[0].NumTables, l.DB().LevelsToString())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tbl := range l.DB().Tables() {
		flushed = flushed || tbl.Level > 0
	}
	if !flushed {
		t.Fatalf("no table below level 0: the test wrote too little to exercise compaction:\n%s", l.DB().LevelsToString())
	}
	all, err := l.ReadAll(ctx, 1, 0)
	if err != nil || len(all) != appends*perAppend {
		t.Fatalf("read %d of %d acknowledged events, %v", len(all), appends*perAppend, err)
	}
}
