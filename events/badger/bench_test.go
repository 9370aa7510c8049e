package badger_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/events/logbench"
)

// benchOptions are the options of every benchmark here: the default server
// profile and 256-byte payloads, as in "statemgr bench log".
var benchOptions = logbench.Options{}

// BenchmarkAppend appends b.N single-event batches, spread over N
// goroutines each appending to its own stream, and reports the p99 latency
// and the throughput. "statemgr bench log --only append" compares the same
// load with raw group commit and naive Badger in one run.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 8, 64, 256} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			a, err := logbench.OpenAppender(logbench.Statemgr, b.TempDir(), benchOptions)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := a.Close(); err != nil {
					b.Error(err)
				}
			}()
			b.ResetTimer()
			s, err := logbench.Measure(context.Background(), a, n, logbench.Limit{Count: b.N})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(s.P99Micros, "p99-µs")
			b.ReportMetric(s.EventsPerSec, "events/s")
		})
	}
}

// replayEvents is the length of BenchmarkReplay's log: 100k by default,
// STATEMGR_BENCH_REPLAY_EVENTS to change it (e.g. 1000000).
func replayEvents(b *testing.B) int {
	n := 100_000
	if v := os.Getenv("STATEMGR_BENCH_REPLAY_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < logbench.TargetEvents {
			b.Fatalf("STATEMGR_BENCH_REPLAY_EVENTS=%q: pass a number of events of at least %d", v, logbench.TargetEvents)
		}
	}
	return n
}

// BenchmarkReplay builds a log (not timed) and replays all of it with
// ScanAll once per iteration, reporting events/s.
func BenchmarkReplay(b *testing.B) {
	n := replayEvents(b)
	dir := b.TempDir()
	if _, err := logbench.Build(context.Background(), dir, benchOptions, n); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
		l := openBenchLog(b, dir)
		defer func() {
			if err := l.Close(); err != nil {
				b.Error(err)
			}
		}()
		b.ResetTimer()
		for range b.N {
			got, err := logbench.Scan(context.Background(), l)
			if err != nil {
				b.Fatal(err)
			}
			if got != n {
				b.Fatalf("replayed %d events of %d", got, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkRecoverStream recovers one stream of 1050 events, with snapshots
// every 100 events, from a log of 10k events and, with
// STATEMGR_BENCH_LARGE=1, of 1M events (building that log takes tens of
// seconds). The figures should not grow with the log. Each log is built
// once, on the first run of its sub-benchmark.
func BenchmarkRecoverStream(b *testing.B) {
	root := b.TempDir()
	sizes := []struct {
		name   string
		events int
	}{{"10k", 10_000}, {"1M", 1_000_000}}
	for _, size := range sizes {
		var (
			l     *badger.Log
			built logbench.BuildStats
		)
		b.Run("log="+size.name, func(b *testing.B) {
			if size.events > 10_000 && os.Getenv("STATEMGR_BENCH_LARGE") == "" {
				b.Skip("set STATEMGR_BENCH_LARGE=1 to build and recover from a log of 1M events")
			}
			if l == nil {
				dir := filepath.Join(root, size.name)
				var err error
				if built, err = logbench.Build(context.Background(), dir, benchOptions, size.events); err != nil {
					b.Fatal(err)
				}
				l = openBenchLog(b, dir)
			}
			b.ResetTimer()
			for range b.N {
				r, err := logbench.RecoverTarget(context.Background(), l, true)
				if err != nil {
					b.Fatal(err)
				}
				if r.State != built.Target {
					b.Fatalf("recovered %+v, built %+v", r.State, built.Target)
				}
			}
		})
		if l != nil {
			if err := l.Close(); err != nil {
				b.Error(err)
			}
		}
	}
}

// openBenchLog opens the log Build wrote in dir, with the same options.
func openBenchLog(b *testing.B, dir string) *badger.Log {
	b.Helper()
	l, err := badger.Open(badger.Options{Dir: dir, Profile: benchOptions.Profile, GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	return l
}
