package badger_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
)

const memChildEnv = "STATEMGR_MEMORY_CHILD"

// rssMiB reads the process's anonymous resident set from /proc: the memory
// the process really owns. File-backed pages (Badger mmaps its tables and
// logs) are page cache the kernel reclaims under pressure; fileMiB reports
// them apart.
func rssMiB() float64 { return statusMiB("RssAnon:") }

func fileMiB() float64 { return statusMiB("RssFile:") }

func statusMiB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// TestMemoryChild opens a log with one profile, reports memory at open and
// after appending events; BenchmarkProfileMemory runs it in a fresh process
// per profile, so one profile's pages do not count against another.
func TestMemoryChild(t *testing.T) {
	spec := os.Getenv(memChildEnv)
	if spec == "" {
		t.Skip("runs only as the child of BenchmarkProfileMemory")
	}
	// profile:count[:payload bytes], 256 bytes unless given.
	name, rest, _ := strings.Cut(spec, ":")
	countStr, sizeStr, _ := strings.Cut(rest, ":")
	count, _ := strconv.Atoi(countStr)
	size := 256
	if sizeStr != "" {
		var err error
		if size, err = strconv.Atoi(sizeStr); err != nil {
			t.Fatalf("%s=%s: payload size: %v", memChildEnv, spec, err)
		}
	}
	profile, err := badger.ParseProfile(name)
	if err != nil {
		t.Fatal(err)
	}
	if lim := profile.MemoryLimit(); lim > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(lim)
	}
	if pct := profile.GCPercent(); pct > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(pct)
	}
	baseHeap, baseRSS := heapMiB(), rssMiB()
	l, err := badger.Open(badger.Options{Dir: t.TempDir(), Profile: profile, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	openHeap, openRSS := heapMiB(), rssMiB()
	payload := make([]byte, size)
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < count; i += 64 * 8 {
				batch := make([]events.Event, 8)
				for j := range batch {
					batch[j] = events.Event{Type: "bench", Schema: 1, Payload: payload}
				}
				if _, _, err := l.Append(context.Background(), fmt.Sprintf("host.%d", i%1000), events.AnyVersion(), batch); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	fullHeap, fullRSS := heapMiB(), rssMiB()
	n := 0
	if err := l.ScanAll(context.Background(), 1, func(events.Event) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	replayHeap, replayRSS := heapMiB(), rssMiB()
	if path := os.Getenv("STATEMGR_MEMORY_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	_ = l.Close()
	// VmHWM is the peak resident set (anonymous and file-backed) over the
	// whole run: appends, flushes and compactions included.
	fmt.Printf("memory %s events=%d baseline_heap=%.1f baseline_rss=%.1f open_heap=%.1f open_rss=%.1f appended_heap=%.1f appended_rss=%.1f replayed_heap=%.1f replayed_rss=%.1f file_backed=%.1f peak_rss=%.1f\n",
		name, n, baseHeap, baseRSS, openHeap, openRSS, fullHeap, fullRSS, replayHeap, replayRSS, fileMiB(), statusMiB("VmHWM:"))
}

// BenchmarkProfileMemory reports, per storage profile, the Go heap and the
// anonymous resident set of a process that opened the log (with the
// profile's memory limit), appended 200k events of 256 bytes and replayed
// them (MiB, minus the process's baseline). Badger's mmapped files are
// page cache and are not counted.
func BenchmarkProfileMemory(b *testing.B) {
	for _, profile := range []string{"bmc", "server"} {
		b.Run("profile="+profile, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryChild$", "-test.count=1", "-test.v")
				cmd.Env = append(os.Environ(), memChildEnv+"="+profile+":200000")
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("child: %v\n%s", err, out)
				}
				fields := map[string]float64{}
				for _, line := range strings.Split(string(out), "\n") {
					if !strings.HasPrefix(line, "memory ") {
						continue
					}
					for _, f := range strings.Fields(line)[2:] {
						k, v, _ := strings.Cut(f, "=")
						fields[k], _ = strconv.ParseFloat(v, 64)
					}
				}
				if len(fields) == 0 {
					b.Fatalf("child printed no figures:\n%s", out)
				}
				b.ReportMetric(fields["open_heap"]-fields["baseline_heap"], "open-heap-MiB")
				b.ReportMetric(fields["open_rss"]-fields["baseline_rss"], "open-rss-MiB")
				b.ReportMetric(fields["appended_rss"]-fields["baseline_rss"], "200k-rss-MiB")
				b.ReportMetric(fields["replayed_heap"]-fields["baseline_heap"], "replayed-heap-MiB")
				b.ReportMetric(fields["replayed_rss"]-fields["baseline_rss"], "replayed-rss-MiB")
			}
		})
	}
}
