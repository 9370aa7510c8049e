package badger_test

import (
	"fmt"
	"testing"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/eventstest"
)

// Events that outgrow the BMC profile's 8 MiB memtable are flushed to
// tables; every acknowledged one must still be read back, in order, before
// and after a reopen. On GOARCH=arm (armv7, the AST2600) this failed with
// "global log jumps from 1 to 14601" until the 32-bit table sizing
// (options_32bit.go): each flush overwrote the front of its own table. The
// armv7 CI (.ci/armv7) runs it under qemu-arm.
func TestFlushedEventsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	const appends, perAppend = 300, 100
	payload := make([]byte, 400)
	for i := range appends {
		batch := make([]events.Event, perAppend)
		for j := range batch {
			e := eventstest.Ev("fill", fmt.Sprint(i*perAppend+j))
			e.Payload = append(fmt.Appendf(nil, "%08d", i*perAppend+j), payload...)
			batch[j] = e
		}
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), batch); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	check := func(when string) {
		t.Helper()
		all, err := l.ReadAll(ctx, 1, 0)
		if err != nil || len(all) != appends*perAppend {
			t.Fatalf("%s: read %d of %d acknowledged events, %v", when, len(all), appends*perAppend, err)
		}
		for i, e := range all {
			if want := fmt.Sprintf("%08d", i); string(e.Payload[:8]) != want || e.GlobalSeq != uint64(i+1) {
				t.Fatalf("%s: event %d is %q at global %d", when, i, e.Payload[:8], e.GlobalSeq)
			}
		}
	}
	check("before reopen")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir)
	defer l.Close()
	check("after reopen")
}

// 3 000 events of 16 KiB (larger than Badger's 4 KiB default block),
// appended ten at a time, are all read back in order, before and after a
// reopen. On armv7 with 4 KiB blocks and a 64 KiB value threshold, each
// such value made the table builder reallocate its block, the builder
// outgrew its first buffer, and ristretto's 32-bit bug overwrote the
// table's first blocks: "global log jumps from 1 to 2017", and the reopen
// refused a table checksum (options_32bit.go).
func TestLargeEventsSurviveFlushAndReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	const appends, perAppend = 3000, 10
	payload := make([]byte, 16<<10)
	for i := 0; i < appends; i += perAppend {
		batch := make([]events.Event, perAppend)
		for j := range batch {
			batch[j] = eventstest.Ev("fill", fmt.Sprint(i+j))
			batch[j].Payload = append(fmt.Appendf(nil, "%08d", i+j), payload...)
		}
		if _, _, err := l.Append(ctx, "host.0", events.AnyVersion(), batch); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	check := func(when string) {
		t.Helper()
		for from := uint64(1); from <= appends; from += 500 {
			got, err := l.ReadAll(ctx, from, 500)
			if err != nil || len(got) != 500 {
				t.Fatalf("%s: read %d events from global %d, %v", when, len(got), from, err)
			}
			for i, e := range got {
				seq := from + uint64(i)
				if want := fmt.Sprintf("%08d", seq-1); e.GlobalSeq != seq || string(e.Payload[:8]) != want {
					t.Fatalf("%s: global %d holds %q at %d", when, seq, e.Payload[:8], e.GlobalSeq)
				}
			}
		}
	}
	check("before reopen")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir)
	defer l.Close()
	check("after reopen")
}
