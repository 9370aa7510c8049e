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
