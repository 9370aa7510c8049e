package coordinator_test

import (
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/memlog"
)

// markRestored appends what events/badger's Restore ends a restored log
// with: a log_restored event on the restore stream.
func markRestored(t *testing.T, r *rig) uint64 {
	t.Helper()
	stored, _, err := memlog.Open(r.store).Append(ctx, events.RestoreStream, events.AnyVersion(), []events.Event{{
		Type: events.EventLogRestored, Schema: 1, Time: r.clk.Now(), Payload: []byte(`{"checkpoint":"20261122T000000.000Z-42"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	return stored[0].GlobalSeq
}

// TestRestoredLogIsNotActedOn: the first start over a restored log
// neither resumes nor compensates the operation the checkpoint holds
// unfinished (it is abandoned), applies no power-restore policy although
// the PSUs latched an input loss since (AlwaysOn would power both hosts),
// and drops a schedule already due; a later schedule stays armed, and the
// next restart resumes and decides as usual.
func TestRestoredLogIsNotActedOn(t *testing.T) {
	r := newRig(t, withPolicy(func(p *coordinator.Policy) {
		p.PowerRestore = coordinator.AlwaysOn
		p.PowerRestoreDelay = time.Minute
	}))
	r.must(chassisOn())
	overdue, err := r.co.Schedule(ctx, r.clk.Now().Add(time.Hour), hostOn(host1))
	if err != nil {
		t.Fatal(err)
	}
	later, err := r.co.Schedule(ctx, r.clk.Now().Add(10*time.Hour), hostOn(host1))
	if err != nil {
		t.Fatal(err)
	}
	// A power-on cut short by the daemon's stop: unfinished in the log.
	id, err := r.co.Submit(ctx, hostOn(host0))
	if err != nil {
		t.Fatal(err)
	}
	r.settle() // the saga runs until it waits on the clock
	r.stop()
	open, err := saga.Unfinished(ctx, memlog.Open(r.store))
	if err != nil || len(open) != 1 || open[0] != id {
		t.Fatalf("unfinished sagas %v %v, want %s", open, err, id)
	}
	sagaHead, _ := memlog.Open(r.store).StreamHead(ctx, saga.Stream(id))
	// Meanwhile the input was lost and came back (latched in the PSUs),
	// and the first schedule came due.
	for _, p := range []string{"psu0", "psu1"} {
		r.inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: p})
	}
	r.settle2()
	for _, p := range []string{"psu0", "psu1"} {
		r.clear(simhw.PSUVinUV, p)
	}
	r.settle2()
	r.clk.Advance(2 * time.Hour)
	seq := markRestored(t, r)

	r.boot()
	r.advance(time.Hour)
	res, done, err := r.co.Operation(id)
	if err != nil || !done || res.Outcome != saga.Abandoned {
		t.Fatalf("operation %s after the restore: %+v done=%t %v, want abandoned", id, res, done, err)
	}
	if got := r.co.Abandoned(); len(got) != 1 || got[0] != id {
		t.Fatalf("Abandoned() = %v, want [%s]", got, id)
	}
	if head, _ := r.log.StreamHead(ctx, saga.Stream(id)); head != sagaHead {
		t.Fatalf("the abandoned saga wrote %d more records: it was resumed", head-sagaHead)
	}
	if open, err := saga.Unfinished(ctx, r.log); err != nil || len(open) != 0 {
		t.Fatalf("unfinished sagas after the restore: %v %v", open, err)
	}
	if r.powered("0") || r.powered("1") {
		t.Fatal("a host was powered on after the restore")
	}
	checkNoPowerLoss(t, r.log)
	settled := r.records(coordinator.RecRestoreSettled)
	if len(settled) != 1 || settled[0].Restored != seq || len(settled[0].Superseded) != 1 {
		t.Fatalf("restore_settled records %+v, want one for %d naming the abandoned operation", settled, seq)
	}
	var dropped bool
	for _, f := range r.records(coordinator.RecScheduleFired) {
		if f.Schedule == later {
			t.Fatalf("the later schedule was dropped: %+v", f)
		}
		dropped = dropped || (f.Schedule == overdue && f.Restored == seq && f.Op == "")
	}
	if !dropped {
		t.Fatalf("the overdue schedule %s was not dropped: %+v", overdue, r.records(coordinator.RecScheduleFired))
	}
	// The next restart is an ordinary one, and the later schedule fires.
	r.restart()
	if got := r.co.Abandoned(); len(got) != 0 {
		t.Fatalf("a second start abandoned %v", got)
	}
	r.advance(8 * time.Hour)
	if !r.powered("1") {
		t.Fatal("the schedule due after the restore did not fire")
	}
	if n := len(r.records(coordinator.RecRestoreSettled)); n != 1 {
		t.Fatalf("%d restore_settled records, want 1", n)
	}
}
