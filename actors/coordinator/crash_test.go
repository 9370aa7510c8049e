package coordinator_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/memlog"
)

// crashLog crashes the memlog (losing nothing acknowledged) when the
// armed number of appends has been acknowledged: the daemon dies there.
type crashLog struct {
	*memlog.Log
	mu      sync.Mutex
	armed   bool
	left    int
	crashed bool
}

func (l *crashLog) Append(ctx context.Context, stream string, exp events.Expected, batch []events.Event) ([]events.Event, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.crashed || (l.armed && l.left == 0) {
		if !l.crashed {
			l.crashed = true
			l.Crash()
		}
		return nil, false, events.ErrClosed
	}
	if l.armed {
		l.left--
	}
	return l.Log.Append(ctx, stream, exp, batch)
}

func (l *crashLog) arm(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed, l.left = true, n
}

func (l *crashLog) hasCrashed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.crashed
}

type crashScenario struct {
	name   string
	policy func(*coordinator.Policy)
	setup  func(r *rig)
	req    coordinator.Request
}

// TestCrashAtEveryStepRecovers kills the daemon after each record an
// operation writes (component, saga and coordinator records alike), then
// restarts the System and the coordinator over the acknowledged log: the
// operation always ends with an outcome, its saga is closed, components and
// hardware agree, and no host was ever Running under a chassis not On.
func TestCrashAtEveryStepRecovers(t *testing.T) {
	scenarios := []crashScenario{
		{name: "chassis power on", req: chassisOn()},
		{name: "chassis power on, psu1 fails", setup: func(r *rig) { r.inject(simhw.Fault{Kind: simhw.PSUNoPowerGood, Target: "psu1"}) }, req: chassisOn()},
		{name: "host power on", setup: func(r *rig) { r.must(chassisOn()) }, req: hostOn(host0)},
		{name: "host power on, no power good", setup: func(r *rig) {
			r.must(chassisOn())
			r.inject(simhw.Fault{Kind: simhw.HostPowerGoodNeverRises, Target: "0"})
		}, req: hostOn(host0)},
		{name: "host graceful off", setup: func(r *rig) { r.running(host0) }, req: hostOff(host0)},
		{name: "chassis off shutting hosts down", policy: func(p *coordinator.Policy) { p.ChassisOff = coordinator.ShutdownHostsFirst },
			setup: func(r *rig) { r.running(host0) }, req: coordinator.Request{Kind: coordinator.ChassisPowerOff, Target: chassis}},
		{name: "host power cycle", setup: func(r *rig) { r.running(host1) }, req: coordinator.Request{Kind: coordinator.HostReset, Target: host1, ResetType: "PowerCycle"}},
	}
	// -short (CI's race run) crashes after every other record; the test
	// command crashes after each.
	every := 1
	if testing.Short() {
		every = 2
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for k := 0; ; k += every {
				if done := crashAt(t, sc, k); done {
					if k == 0 {
						t.Fatal("the operation wrote nothing")
					}
					t.Logf("recovered from a crash after each of its first %d records (every %d)", k, every)
					return
				}
			}
		})
	}
}

// crashAt runs sc with a crash after k records; it reports whether the
// operation finished before the crash point (k is past its last record).
func crashAt(t *testing.T, sc crashScenario, k int) bool {
	t.Helper()
	var cl *crashLog
	r := newRig(t, func(r *rig) {
		if sc.policy != nil {
			sc.policy(&r.cfg.Policy)
		}
		r.wrap = func(ml *memlog.Log) events.Log { cl = &crashLog{Log: ml}; return cl }
	})
	if sc.setup != nil {
		sc.setup(r)
	}
	cl.arm(k)
	id, err := r.co.Submit(ctx, sc.req)
	if id == "" {
		if !cl.hasCrashed() {
			t.Fatalf("k=%d: submit failed without a crash: %v", k, err)
		}
	} else {
		r.driveUntil(time.Hour, func() bool {
			_, done, _ := r.co.Operation(id)
			return done || cl.hasCrashed()
		})
	}
	if !cl.hasCrashed() {
		res, _, _ := r.co.Operation(id)
		if res.Outcome == "" {
			t.Fatalf("k=%d: no outcome and no crash", k)
		}
		return true
	}
	// The daemon died: restart over what was acknowledged.
	r.wrap = nil
	r.restart()
	if id != "" {
		res, done, err := r.co.Operation(id)
		switch {
		case errors.Is(err, coordinator.ErrUnknownOperation):
			// Never accepted: the crash came before op_accepted.
		case err != nil:
			t.Fatalf("k=%d: %v", k, err)
		case !done:
			res = r.wait(id, 2*time.Hour)
			fallthrough
		default:
			if res.Outcome == "" {
				t.Fatalf("k=%d: recovered operation without an outcome: %+v", k, res)
			}
		}
	}
	r.settle()
	if open, err := saga.Unfinished(ctx, r.log); err != nil || len(open) != 0 {
		t.Fatalf("k=%d: unfinished sagas after recovery: %v %v", k, open, err)
	}
	func() {
		defer func() {
			if t.Failed() {
				t.Logf("crash after %d records", k)
			}
		}()
		r.checkAgrees()
		checkInvariant(t, r.log)
		checkNoPowerLoss(t, r.log)
	}()
	return false
}

// checkNoPowerLoss fails if the coordinator recorded an AC power loss or
// applied the power-restore policy: nothing took the input away. A saga
// resumed at start that switches PSUs off must not read as a loss.
func checkNoPowerLoss(t *testing.T, log events.Log) {
	t.Helper()
	evs, err := log.ReadStream(ctx, coordinator.Stream, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		rec, err := coordinator.DecodeRecord(e)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == coordinator.RecPowerLoss || (e.Type == coordinator.RecAPRDecided && rec.Applied) {
			t.Fatalf("%s recorded with no AC loss: %+v", e.Type, rec)
		}
	}
}
