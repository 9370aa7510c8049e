package badger_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

// writtenBytes is what this process has written to storage so far.
func writtenBytes(b *testing.B) int64 {
	io, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skipf("no /proc/self/io: %v", err)
	}
	for _, line := range strings.Split(string(io), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Skip("/proc/self/io has no write_bytes")
	return 0
}

// BenchmarkCompaction appends b.N events of 256 bytes from 64 appenders to
// a bmc-profile log, with the log's own level-0 compaction and with
// Badger's workers (the baseline), and reports the bytes written to
// storage per event (write amplification) and the append throughput:
//
//	go test -run '^$' -bench Compaction -benchtime 200000x ./events/badger/
func BenchmarkCompaction(b *testing.B) {
	for _, c := range []struct {
		name   string
		badger bool
	}{{"own", false}, {"badger-workers", true}} {
		b.Run(c.name, func(b *testing.B) {
			if c.badger {
				defer badger.UseBadgerCompactors()()
			}
			l, err := badger.Open(badger.Options{Dir: b.TempDir(), Profile: badger.ProfileBMC, GCInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			const appenders = 64
			payload := make([]byte, 256)
			before := writtenBytes(b)
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range appenders {
				wg.Go(func() {
					for i := w; i < b.N; i += appenders {
						e := events.Event{Type: "fill", Schema: 1, Payload: payload}
						if _, _, err := l.Append(ctx, fmt.Sprintf("host.%d", w), events.AnyVersion(), []events.Event{e}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			// Let the compaction the last flush started finish.
			for deadline := time.Now().Add(time.Minute); l.DB().Levels()[0].NumTables > 0 && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			b.ReportMetric(float64(writtenBytes(b)-before)/float64(b.N), "written-B/event")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
