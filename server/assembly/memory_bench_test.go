package assembly_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/server/servertest"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

// BenchmarkComponentMemory is the memory budget per component (issue 16
// item 4): the Go heap and stacks in use, after a GC, of a started
// assembly with H hosts and S services, beside the same assembly with one
// host and no service measured in the same run. Each component costs its
// machine, its actor and mailbox, its supervision and the records of its
// boot in the log (an in-memory log here, so the records are counted: on
// Badger they sit in the memtable until it is flushed). Services are not
// run (no process supervisor): what is measured is statemgr's side of
// each. Run it once per size:
//
//	go test -run '^$' -bench ComponentMemory -benchtime 1x ./server/assembly/
func BenchmarkComponentMemory(b *testing.B) {
	for _, size := range []struct{ hosts, services int }{{1, 10}, {1, 100}, {1, 1000}, {8, 0}, {32, 0}} {
		b.Run(fmt.Sprintf("hosts=%d/services=%d", size.hosts, size.services), func(b *testing.B) {
			// Alternate the baseline and the measured size, and take the
			// median of each: one start's heap varies by ~100 KiB.
			var base, sized []footprint
			for range max(b.N, 5) {
				base = append(base, measureAssembly(b, 1, 0))
				sized = append(sized, measureAssembly(b, size.hosts, size.services))
			}
			baseline, m := median(base), median(sized)
			added := float64(size.hosts - 1 + size.services)
			b.ReportMetric((m.bytes-baseline.bytes)/added, "B/component")
			b.ReportMetric(float64(m.goroutines-baseline.goroutines)/added, "goroutines/component")
			b.ReportMetric(m.bytes/baseline.bytes, "x-baseline")
			b.Logf("baseline (1 host, no service) %.0f KiB, %d goroutines; %d hosts, %d services %.0f KiB, %d goroutines",
				baseline.bytes/1024, baseline.goroutines, size.hosts, size.services, m.bytes/1024, m.goroutines)
		})
	}
}

// median is the footprint of median bytes, with the median goroutine count.
func median(fs []footprint) footprint {
	bytes := make([]float64, len(fs))
	goroutines := make([]int, len(fs))
	for i, f := range fs {
		bytes[i], goroutines[i] = f.bytes, f.goroutines
	}
	slices.Sort(bytes)
	slices.Sort(goroutines)
	return footprint{bytes: bytes[len(fs)/2], goroutines: goroutines[len(fs)/2]}
}

// footprint is what one started assembly holds.
type footprint struct {
	bytes      float64 // HeapInuse + StackInuse after a GC
	goroutines int
}

// measureAssembly starts an assembly of the generated platform, reads its
// footprint and stops it.
func measureAssembly(b *testing.B, hosts, services int) footprint {
	b.Helper()
	plat, err := platform.Parse("budget.hcl", []byte(budgetPlatform(hosts, services)))
	if err != nil {
		b.Fatal(err)
	}
	plat = servertest.FastButtons(plat)
	before := inUse()
	goroutines := runtime.NumGoroutine()
	ctx := context.Background()
	sim, err := simhw.New(clock.Real{}, servertest.FastSim(plat))
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	log := memlog.New()
	defer log.Close()
	asm, err := assembly.Start(ctx, assembly.Config{Platform: plat, Log: log, Snapshots: memsnap.New(), Clock: clock.Real{},
		Devices: devices.Config{Sim: sim}, Timeouts: servertest.FastTimeouts(),
		BMCBoot: machine.Input{Value: machine.RebootCausePOR, Cause: "memory budget"}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := asm.Stop(ctx); err != nil {
			b.Error(err)
		}
	}()
	return footprint{bytes: inUse() - before, goroutines: runtime.NumGoroutine() - goroutines}
}

// inUse is the heap and stack memory in use after a full GC.
func inUse() float64 {
	runtime.GC()
	runtime.GC() // the second frees what the first's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse + ms.StackInuse)
}

// budgetPlatform is a platform file of one chassis with one simulated PSU,
// hosts hosts on their own lines and services services.
func budgetPlatform(hosts, services int) string {
	var src strings.Builder
	src.WriteString(`bmc "0" {}
chassis "0" {
  psu "psu0" {
    bus     = 7
    address = "0x58"
    backend = "sim"
  }
  sequence = ["psu0"]
}
`)
	for h := range hosts {
		fmt.Fprintf(&src, `host "%d" {
  chassis = "0"
  gpio "power_out" {
    line     = "POWER_OUT_%[1]d"
    polarity = "active-low"
  }
  gpio "reset_out" {
    line     = "RESET_OUT_%[1]d"
    polarity = "active-low"
  }
  gpio "power_good" {
    line     = "PS_PWROK_%[1]d"
    polarity = "active-high"
  }
}
`, h)
	}
	for s := range services {
		fmt.Fprintf(&src, "service \"svc%d\" {\n  command = \"/bin/true\"\n}\n", s)
	}
	return src.String()
}
