package saga_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/memlog"
)

var ctx = context.Background()

// behaviour of a fake target for one command id.
type behaviour int

const (
	ok        behaviour = iota
	refuse              // permanent refusal
	timeout             // times out without applying
	lostReply           // applies, then times out
	flaky               // fails (unknown) the first time, then works
)

// target is a fake target: a set of applied command ids, deduplicated, and
// what each step does.
type target struct {
	mu      sync.Mutex
	log     events.Log
	applied map[string]bool // step name -> applied
	sent    []string        // command ids in order, duplicates included
	script  map[string]behaviour
	undoErr map[string]int // compensation failures left per target
	calls   map[string]int
}

func newTarget(log events.Log) *target {
	return &target{log: log, applied: map[string]bool{}, script: map[string]behaviour{}, undoErr: map[string]int{}, calls: map[string]int{}}
}

func (t *target) Execute(ctx context.Context, cmdID string, c saga.Command) error {
	// The intent must be durable before the command arrives.
	if !intentLogged(t.log, cmdID) {
		return fmt.Errorf("command %s sent before its intent was logged", cmdID)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = append(t.sent, cmdID)
	t.calls[cmdID]++
	if c.Action == "undo" {
		if t.undoErr[c.Target] > 0 {
			t.undoErr[c.Target]--
			return errors.New("undo failed")
		}
		delete(t.applied, c.Target) // tolerates never applied
		return nil
	}
	switch t.script[c.Target] {
	case refuse:
		return saga.Permanent(errors.New("refused by guard"))
	case timeout:
		return context.DeadlineExceeded
	case lostReply:
		t.applied[c.Target] = true
		return context.DeadlineExceeded
	case flaky:
		if t.calls[cmdID] == 1 {
			return errors.New("target unavailable")
		}
	}
	t.applied[c.Target] = true
	return nil
}

func (t *target) Query(ctx context.Context, cmdID string, c saga.Command) (saga.Applied, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.script[c.Target] == timeout {
		return saga.Unknown, errors.New("no answer")
	}
	if t.applied[c.Target] {
		return saga.Yes, nil
	}
	return saga.No, nil
}

func intentLogged(log events.Log, cmdID string) bool {
	id, _, _ := strings.Cut(cmdID, "/")
	evs, err := log.ReadStream(ctx, saga.Stream(id), 1, 0)
	if err != nil {
		return false
	}
	want := saga.RecStepIssued
	if strings.HasSuffix(cmdID, "/undo") {
		want = saga.RecCompIssued
	}
	for _, e := range evs {
		if e.Type == want && strings.Contains(string(e.Payload), `"cmd_id":"`+cmdID+`"`) {
			return true
		}
	}
	return false
}

func plan(id string, names ...string) saga.Plan {
	p := saga.Plan{ID: id, Kind: "test", CompRetry: saga.Retry{Attempts: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond}}
	for _, n := range names {
		p.Steps = append(p.Steps, saga.Step{
			Name:         n,
			Command:      saga.Command{Action: "do", Target: n},
			Compensation: &saga.Command{Action: "undo", Target: n},
			Timeout:      time.Second,
			Retry:        saga.Retry{Attempts: 2, Initial: time.Millisecond, Max: 2 * time.Millisecond},
		})
	}
	return p
}

func engine(log events.Log, t saga.Executor) *saga.Engine {
	return &saga.Engine{Log: log, Clock: clock.Real{}, Exec: t}
}

func types(t *testing.T, log events.Log, id string) []string {
	t.Helper()
	evs, err := log.ReadStream(ctx, saga.Stream(id), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestSuccessLogsIntentBeforeEachCommand(t *testing.T) {
	log := memlog.New()
	tg := newTarget(log)
	res, err := engine(log, tg).Start(ctx, plan("s1", "a", "b", "c"))
	if err != nil || res.Outcome != saga.Succeeded {
		t.Fatalf("Start = %+v, %v", res, err)
	}
	want := []string{"saga_started", "step_issued", "step_succeeded", "step_issued", "step_succeeded", "step_issued", "step_succeeded", "saga_completed"}
	if got := types(t, log, "s1"); !slices.Equal(got, want) {
		t.Fatalf("records = %v, want %v", got, want)
	}
	if !slices.Equal(tg.sent, []string{"s1/0", "s1/1", "s1/2"}) {
		t.Fatalf("sent %v", tg.sent)
	}
	if open, _ := saga.Unfinished(ctx, log); len(open) != 0 {
		t.Fatalf("unfinished after completion: %v", open)
	}
}

func TestFailureAtEveryStepCompensatesInReverse(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	for fail := range names {
		t.Run(names[fail], func(t *testing.T) {
			log := memlog.New()
			tg := newTarget(log)
			tg.script[names[fail]] = refuse
			res, err := engine(log, tg).Start(ctx, plan("s", names...))
			if err != nil || res.Outcome != saga.Compensated || res.FailedStep != fail {
				t.Fatalf("Start = %+v, %v", res, err)
			}
			if !strings.Contains(res.Reason, "refused by guard") {
				t.Fatalf("reason %q", res.Reason)
			}
			var undos []string
			for _, id := range tg.sent {
				if strings.HasSuffix(id, "/undo") {
					undos = append(undos, id)
				}
			}
			var want []string
			for j := fail; j >= 0; j-- {
				want = append(want, saga.UndoID("s", j))
			}
			if !slices.Equal(undos, want) {
				t.Fatalf("undos %v, want %v (reverse, the failed step included)", undos, want)
			}
			if len(tg.applied) != 0 {
				t.Fatalf("still applied after compensation: %v", tg.applied)
			}
		})
	}
}

func TestTimeoutQueriesTheTargetBeforeDeciding(t *testing.T) {
	t.Run("applied despite the timeout", func(t *testing.T) {
		log := memlog.New()
		tg := newTarget(log)
		tg.script["b"] = lostReply
		res, err := engine(log, tg).Start(ctx, plan("s", "a", "b"))
		if err != nil || res.Outcome != saga.Succeeded {
			t.Fatalf("Start = %+v, %v", res, err)
		}
		if tg.calls["s/1"] != 1 {
			t.Fatalf("the applied command was re-sent %d times", tg.calls["s/1"])
		}
		if got := types(t, log, "s"); !slices.Contains(got, saga.RecStepUnknown) {
			t.Fatalf("no step_unknown record: %v", got)
		}
	})
	t.Run("not applied: re-sent with the same id", func(t *testing.T) {
		log := memlog.New()
		tg := newTarget(log)
		tg.script["a"] = flaky
		res, err := engine(log, tg).Start(ctx, plan("s", "a"))
		if err != nil || res.Outcome != saga.Succeeded || tg.calls["s/0"] != 2 {
			t.Fatalf("Start = %+v, %v; calls %d", res, err, tg.calls["s/0"])
		}
	})
	t.Run("never answers: timed out and compensated", func(t *testing.T) {
		log := memlog.New()
		tg := newTarget(log)
		tg.script["b"] = timeout
		res, err := engine(log, tg).Start(ctx, plan("s", "a", "b"))
		if err != nil || res.Outcome != saga.TimedOut || res.FailedStep != 1 {
			t.Fatalf("Start = %+v, %v", res, err)
		}
		if tg.calls["s/1/undo"] != 1 || tg.calls["s/0/undo"] != 1 {
			t.Fatalf("compensations %v", tg.calls)
		}
	})
}

func TestCompensationRetriedThenParkedWithAlert(t *testing.T) {
	log := memlog.New()
	tg := newTarget(log)
	tg.script["b"] = refuse
	tg.undoErr["a"] = 2 // fails twice, then works
	res, err := engine(log, tg).Start(ctx, plan("s", "a", "b"))
	if err != nil || res.Outcome != saga.Compensated || tg.calls["s/0/undo"] != 3 {
		t.Fatalf("Start = %+v, %v; undo calls %d", res, err, tg.calls["s/0/undo"])
	}

	log = memlog.New()
	tg = newTarget(log)
	tg.script["b"] = refuse
	tg.undoErr["a"] = 100
	var alerts []saga.Result
	e := engine(log, tg)
	e.OnAlert = func(r saga.Result) { alerts = append(alerts, r) }
	res, err = e.Start(ctx, plan("s", "a", "b"))
	if err != nil || res.Outcome != saga.Failed || res.Alert == "" || len(alerts) != 1 {
		t.Fatalf("Start = %+v, %v; alerts %v", res, err, alerts)
	}
	if tg.calls["s/0/undo"] != 3 {
		t.Fatalf("undo tried %d times, want the 3 of CompRetry", tg.calls["s/0/undo"])
	}
}

func TestEscalationLadder(t *testing.T) {
	ladder := func(id string) saga.Plan {
		p := plan(id, "request", "graceful", "override", "rail")
		p.Steps[0].Compensation = nil
		for i := 1; i < 4; i++ {
			p.Steps[i].Compensation = nil
			p.Steps[i].Escalate = i < 3
		}
		return p
	}
	log := memlog.New()
	tg := newTarget(log)
	tg.script["graceful"] = timeout
	res, err := engine(log, tg).Start(ctx, ladder("s"))
	if err != nil || res.Outcome != saga.Succeeded {
		t.Fatalf("Start = %+v, %v", res, err)
	}
	if tg.applied["rail"] || !tg.applied["override"] {
		t.Fatalf("override should end the ladder: %v", tg.applied)
	}
	if got := types(t, log, "s"); !slices.Contains(got, saga.RecStepSkipped) {
		t.Fatalf("rail not recorded skipped: %v", got)
	}

	log = memlog.New()
	tg = newTarget(log)
	for _, n := range []string{"graceful", "override", "rail"} {
		tg.script[n] = refuse
	}
	res, err = engine(log, tg).Start(ctx, ladder("s"))
	if err != nil || res.Outcome != saga.Failed || res.Alert == "" || res.FailedStep != 3 {
		t.Fatalf("exhausted ladder = %+v, %v; want failed with an alert at the last rung", res, err)
	}
}

func TestSupersededStopsBetweenRecords(t *testing.T) {
	log := memlog.New()
	tg := newTarget(log)
	cctx, cancel := context.WithCancelCause(ctx)
	e := engine(log, &cancelAfter{target: tg, n: 1, cancel: func() { cancel(fmt.Errorf("%w by emergency", saga.ErrSuperseded)) }})
	res, err := e.Start(cctx, plan("s", "a", "b", "c"))
	if err != nil || res.Outcome != saga.Superseded || !strings.Contains(res.Reason, "emergency") {
		t.Fatalf("Start = %+v, %v", res, err)
	}
	if tg.applied["b"] || tg.applied["c"] {
		t.Fatalf("steps ran after the saga was superseded: %v", tg.applied)
	}
}

// cancelAfter cancels the saga's context after n commands.
type cancelAfter struct {
	*target
	n      int
	cancel func()
}

func (c *cancelAfter) Execute(ctx context.Context, id string, cmd saga.Command) error {
	err := c.target.Execute(ctx, id, cmd)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return err
}

func TestInvalidInputIsRefused(t *testing.T) {
	log := memlog.New()
	e := engine(log, newTarget(log))
	for _, p := range []saga.Plan{{}, {ID: "x"}, {ID: "a/b", Steps: plan("y", "a").Steps}, {ID: "z", Steps: []saga.Step{{Name: "no target"}}}} {
		if _, err := e.Start(ctx, p); !errors.Is(err, saga.ErrInvalidPlan) {
			t.Errorf("Start(%+v) = %v, want ErrInvalidPlan", p, err)
		}
	}
	if _, err := e.Start(ctx, plan("s", "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, plan("s", "a")); !errors.Is(err, saga.ErrExists) {
		t.Fatalf("second Start = %v, want ErrExists", err)
	}
	if _, err := saga.Load(ctx, log, "missing"); !errors.Is(err, saga.ErrNotFound) {
		t.Fatalf("Load(missing) = %v", err)
	}
	log.Store().Corrupt(2)
	if _, err := saga.Load(ctx, log, "s"); !errors.Is(err, events.ErrCorrupt) {
		t.Fatalf("Load(corrupt) = %v, want ErrCorrupt", err)
	}
}

// crashingLog crashes the memlog after n successful saga appends.
type crashingLog struct {
	*memlog.Log
	mu sync.Mutex
	n  int
}

func (l *crashingLog) Append(ctx context.Context, stream string, exp events.Expected, batch []events.Event) ([]events.Event, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		l.Crash()
		return nil, false, events.ErrClosed
	}
	l.n--
	return l.Log.Append(ctx, stream, exp, batch)
}

// TestCrashAtEveryRecordRecovers crashes the log after each possible record
// of a saga that succeeds, one that compensates and one that times out, then
// recovers from the reopened log with a fresh engine: the saga always ends,
// and ends succeeded with every step applied once or undone with none left.
func TestCrashAtEveryRecordRecovers(t *testing.T) {
	scripts := map[string]map[string]behaviour{
		"success":    {},
		"refusal":    {"c": refuse},
		"lost reply": {"b": lostReply},
		"timeout":    {"c": timeout},
	}
	for name, script := range scripts {
		t.Run(name, func(t *testing.T) {
			for k := 0; ; k++ {
				ml := memlog.New()
				tg := newTarget(ml)
				maps(tg.script, script)
				cl := &crashingLog{Log: ml, n: k}
				tg.log = cl
				res, err := engine(cl, tg).Start(ctx, plan("s", "a", "b", "c"))
				if err == nil {
					checkEnd(t, tg, res)
					if k == 0 {
						t.Fatal("no crash happened")
					}
					return // k is past the saga's last record
				}
				reopened := ml.Reopen()
				tg.log = reopened
				open, err := saga.Unfinished(ctx, reopened)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range open {
					res, err = engine(reopened, tg).Resume(ctx, id)
					if err != nil {
						t.Fatalf("crash after %d records: Resume: %v", k, err)
					}
					checkEnd(t, tg, res)
				}
				if again, _ := saga.Unfinished(ctx, reopened); len(again) != 0 {
					t.Fatalf("crash after %d records: still unfinished %v", k, again)
				}
			}
		})
	}
}

func maps(dst, src map[string]behaviour) {
	for k, v := range src {
		dst[k] = v
	}
}

func checkEnd(t *testing.T, tg *target, res saga.Result) {
	t.Helper()
	switch res.Outcome {
	case saga.Succeeded:
		for _, n := range []string{"a", "b", "c"} {
			if !tg.applied[n] {
				t.Fatalf("succeeded without %s applied: %v", n, tg.applied)
			}
		}
	case saga.Compensated, saga.TimedOut, saga.Failed:
		if len(tg.applied) != 0 {
			t.Fatalf("%s with steps still applied: %v", res.Outcome, tg.applied)
		}
	default:
		t.Fatalf("unexpected outcome %+v", res)
	}
	for id, n := range tg.calls {
		// At least once: a crash between comp_issued and comp_done re-sends
		// the undo, never more than once per crash.
		if strings.HasSuffix(id, "/undo") && n > 2 {
			t.Fatalf("undo %s sent %d times across one crash", id, n)
		}
	}
}

// TestFoldIsDeterministic checks, for random plans and behaviours, that
// folding the log the engine wrote gives the engine's own result.
func TestFoldIsDeterministic(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 5).Draw(rt, "steps")
		var names []string
		for i := range n {
			names = append(names, fmt.Sprint("t", i))
		}
		log := memlog.New()
		tg := newTarget(log)
		for _, nm := range names {
			tg.script[nm] = behaviour(rapid.IntRange(0, 4).Draw(rt, "b"+nm))
		}
		res, err := engine(log, tg).Start(ctx, plan("s", names...))
		if err != nil {
			rt.Fatal(err)
		}
		st, err := saga.Load(ctx, log, "s")
		if err != nil {
			rt.Fatal(err)
		}
		if st.Result() != res {
			rt.Fatalf("fold %+v != run %+v", st.Result(), res)
		}
		if res.Outcome == saga.Succeeded {
			return
		}
		if len(tg.applied) != 0 {
			rt.Fatalf("%s left %v applied", res.Outcome, tg.applied)
		}
	})
}

func TestRetryDelayIsCapped(t *testing.T) {
	r := saga.Retry{Attempts: 10, Initial: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if got := r.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w)
		}
	}
}

// A first step refused by its target applied nothing: even without a
// compensation it is no irreversible step, and the saga fails without an
// alert for an operator (a GracefulRestart of a host that is Off).
func TestRefusedIrreversibleStepNeedsNoOperator(t *testing.T) {
	log := memlog.New()
	tg := newTarget(log)
	tg.script["request"] = refuse
	p := plan("s", "request", "pulse")
	p.Steps[0].Compensation = nil
	var alerts []saga.Result
	e := engine(log, tg)
	e.OnAlert = func(r saga.Result) { alerts = append(alerts, r) }
	res, err := e.Start(ctx, p)
	if err != nil || res.Outcome != saga.Failed || res.Alert != "" || len(alerts) != 0 || res.FailedStep != 0 {
		t.Fatalf("Start = %+v, %v; alerts %v; want failed without an alert", res, err, alerts)
	}
	// The log says so after a restart too.
	evs, err := log.ReadStream(ctx, saga.Stream("s"), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := saga.Fold(evs)
	if err != nil || st.Final != saga.Failed || st.Alert != "" || !st.Refused[0] {
		t.Fatalf("folded = %+v, %v", st, err)
	}
}

// Index records (saga_opened, saga_closed) carry the injected clock's time,
// like every other saga record.
func TestIndexRecordsCarryTheClocksTime(t *testing.T) {
	log := memlog.New()
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	e := &saga.Engine{Log: log, Clock: clock.NewVirtual(at), Exec: newTarget(log)}
	if _, err := e.Start(ctx, plan("s1", "a")); err != nil {
		t.Fatal(err)
	}
	evs, err := log.ReadStream(ctx, saga.IndexStream, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("index holds %d records, want saga_opened and saga_closed", len(evs))
	}
	for _, ev := range evs {
		if !ev.Time.Equal(at) {
			t.Errorf("%s carries time %v, want the clock's %v", ev.Type, ev.Time, at)
		}
	}
}
