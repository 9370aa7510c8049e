package protoactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/snapshots"
)

// Messages a component actor handles; System wraps them.
type (
	// inputMsg asks the actor to step its machine; the reply is *Outcome or
	// *errorReply.
	inputMsg struct{ in machine.Input }
	// getMsg asks for the component's View.
	getMsg struct{}
	// tickMsg advances time; gen lets the actor ignore stale timer ticks.
	tickMsg struct{ gen uint64 }
	// panicMsg makes the actor panic, for tests of supervision.
	panicMsg struct{ reason string }
)

type errorReply struct{ err error }

// ConflictError refuses a request under an operation id that an earlier,
// different request to the component holds.
type ConflictError struct {
	Component actors.ID
	Operation string
	Trigger   string // the first request
	Requester string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: operation id %q already names request %s by %q: a different request needs a new operation id",
		e.Component, e.Operation, e.Trigger, e.Requester)
}

// RefusedError is a request the machine rejected under an operation id.
// The rejection is on record (Stored, an EventRejected record), so the id
// stays bound to it: a retry gets it again with Duplicate set, another
// request under the id a *ConflictError. It unwraps to the
// *machine.RejectedError.
type RefusedError struct {
	Component actors.ID
	Operation string
	Rejected  *machine.RejectedError
	Stored    []events.Event
	Duplicate bool // a retry: the first request's rejection
}

func (e *RefusedError) Error() string { return fmt.Sprintf("%s: %v", e.Component, e.Rejected) }

// Unwrap returns the rejection.
func (e *RefusedError) Unwrap() error { return e.Rejected }

// View is what a component reports about itself.
type View struct {
	ID      actors.ID      `json:"id"`
	Status  machine.Status `json:"status"`
	Version uint64         `json:"version"` // stream head
}

// Outcome is the reply to an accepted input.
type Outcome struct {
	View      View             `json:"view"`
	Stored    []events.Event   `json:"-"`         // the records as appended
	Effects   []machine.Effect `json:"effects"`   // handed to the Effector
	Duplicate bool             `json:"duplicate"` // a retried operation: the first outcome
}

// recentOps bounds the memory of operation outcomes kept for retries.
const recentOps = 128

// opResult is what a retried operation is answered with.
type opResult struct {
	Op   string   `json:"op"`
	Seqs []uint64 `json:"seqs"` // stream seqs of its records
	// Trigger and Requester are the request the operation id is bound to:
	// another request under the id is refused (empty in snapshots written
	// before they were kept: then only the id is compared).
	Trigger   string           `json:"trigger,omitempty"`
	Requester string           `json:"requester,omitempty"`
	State     string           `json:"state"`
	Effects   []machine.Effect `json:"effects,omitempty"`
}

// memory is the component's state beyond its machine status: what a
// snapshot holds and replay rebuilds.
type memory struct {
	Status      machine.Status `json:"status"`
	Recent      []opResult     `json:"recent,omitempty"`
	Transitions []time.Time    `json:"transitions,omitempty"` // recent transition times, for thrashing
	Alerts      []string       `json:"alerts,omitempty"`      // keys of alerts standing
	// ops counts the operation ids in Recent, so that a request looks its
	// id up rather than comparing it with up to recentOps others (a few
	// percent of a request's CPU). Nil until opIndex builds it, as after
	// decoding a snapshot.
	ops map[string]int
}

// opIndex returns m.ops, building it from Recent if needed.
func (m *memory) opIndex() map[string]int {
	if m.ops == nil {
		m.ops = make(map[string]int, len(m.Recent))
		for _, r := range m.Recent {
			m.ops[r.Op]++
		}
	}
	return m.ops
}

// snapshotSchema is the schema of a component snapshot's state.
const snapshotSchema = 1

// component is the actor owning one component. A new instance is made for
// every incarnation; it recovers in Started.
type component struct {
	id  actors.ID
	m   *machine.Compiled
	cfg *Config
	log hclog.Logger

	mem      memory
	version  uint64 // stream head the actor last wrote or read
	snapSeq  uint64 // seq of the newest snapshot
	snapTime time.Time
	timerGen uint64
	timer    clock.Timer // the armed timeout or alert check, nil if none
}

func (c *component) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if err := c.recover(); err != nil {
			// Handling nothing on an unknown state is the only safe answer;
			// the supervisor retries with backoff.
			panic(fmt.Errorf("cannot recover %s: %w", c.id, err))
		}
		c.changed()
		c.arm(ctx)
	case *actor.Stopping, *actor.Restarting:
		c.disarmTimer()
	case *inputMsg:
		c.handle(ctx, msg.in)
	case *tickMsg:
		if msg.gen != 0 && msg.gen != c.timerGen {
			return // a timer from before the last transition
		}
		c.handle(ctx, machine.Input{Kind: machine.KindTick})
	case *getMsg:
		ctx.Respond(c.view())
	case *panicMsg:
		panic(msg.reason)
	}
}

func (c *component) view() *View {
	return &View{ID: c.id, Status: c.mem.Status, Version: c.version}
}

// recover rebuilds the component from its newest good snapshot and the
// records after it, creating the stream on first start.
func (c *component) recover() error {
	ctx := context.Background()
	rec, err := snapshots.Recover(ctx, c.cfg.Snapshots, c.cfg.Log, string(c.id), snapshots.Replayer[memory]{
		Empty:  func() memory { return memory{} },
		Decode: decodeSnapshot,
		Apply:  applyRecord,
	})
	if err != nil {
		return err
	}
	for _, skipped := range rec.Skipped {
		c.log.Warn("snapshot skipped, recovering from an older one or the full log", "error", skipped)
	}
	c.mem, c.version, c.snapSeq = rec.State, rec.Seq, rec.Snapshot
	c.snapTime = c.cfg.Clock.Now()
	if c.version > 0 {
		c.log.Debug("recovered", "state", c.mem.Status.State, "version", c.version, "snapshot", rec.Snapshot, "replayed", rec.Replayed)
		return nil
	}
	now := c.cfg.Clock.Now()
	st := machine.NewStatus(c.m, now)
	created := actors.Record{Event: machine.Event{Type: actors.EventCreated, Machine: c.m.Kind(), To: st.State, Cause: "component created", Time: now}, Status: st}
	_, err = c.append(ctx, []actors.Record{created}, "")
	return err
}

func decodeSnapshot(s snapshots.Snapshot) (memory, error) {
	if s.Schema != snapshotSchema {
		return memory{}, fmt.Errorf("%w: component snapshot schema %d, this build reads %d", snapshots.ErrUnknownVersion, s.Schema, snapshotSchema)
	}
	var m memory
	if err := json.Unmarshal(s.State, &m); err != nil {
		return memory{}, fmt.Errorf("%w: %w", snapshots.ErrCorrupt, err)
	}
	return m, nil
}

// applyRecord folds one logged record into memory during replay.
func applyRecord(m memory, e events.Event) (memory, error) {
	r, err := actors.DecodeRecord(e)
	if err != nil {
		return m, err
	}
	return applyDecoded(m, r, e)
}

// applyDecoded folds a record into memory; replay and live handling share
// it, so the two cannot disagree. Live handling passes the record it just
// appended rather than decoding it back.
func applyDecoded(m memory, r actors.Record, e events.Event) (memory, error) {
	if err := actors.Follows(m.Status, r); err != nil {
		return m, fmt.Errorf("%s event %d: %w", e.Stream, e.StreamSeq, err)
	}
	m.Status = r.Status
	switch r.Event.Type {
	case machine.EventTransition:
		if r.Event.From != r.Event.To {
			m.Transitions = append(m.Transitions, r.Event.Time)
			if len(m.Transitions) > 64 {
				m.Transitions = m.Transitions[len(m.Transitions)-64:]
			}
		}
	case machine.EventAlert:
		m.Alerts = appendOnce(m.Alerts, r.Event.Key)
	}
	if op := r.Event.Operation; op != "" && r.Event.Input == machine.KindRequest {
		if n := len(m.Recent); n > 0 && m.Recent[n-1].Op == op {
			m.Recent[n-1].Seqs = append(m.Recent[n-1].Seqs, e.StreamSeq)
			m.Recent[n-1].State = r.Status.State
		} else {
			ops := m.opIndex() // before the append, which it counts below
			m.Recent = append(m.Recent, opResult{Op: op, Seqs: []uint64{e.StreamSeq}, State: r.Status.State,
				Trigger: r.Event.Trigger, Requester: r.Event.Requester})
			ops[op]++
			if drop := len(m.Recent) - recentOps; drop > 0 {
				for _, old := range m.Recent[:drop] {
					if ops[old.Op]--; ops[old.Op] == 0 {
						delete(ops, old.Op)
					}
				}
				m.Recent = m.Recent[drop:]
			}
		}
	}
	return m, nil
}

func appendOnce(keys []string, k string) []string {
	for _, have := range keys {
		if have == k {
			return keys
		}
	}
	return append(keys, k)
}

// handle steps the machine with in, persists the outcome, and only then
// replies and hands over the effects.
func (c *component) handle(ctx actor.Context, in machine.Input) {
	if in.Operation != "" && in.Kind == machine.KindRequest && c.mem.opIndex()[in.Operation] > 0 {
		for _, r := range c.mem.Recent {
			if r.Op != in.Operation {
				continue
			}
			if r.Trigger != "" && (r.Trigger != in.Trigger || r.Requester != in.Requester) {
				c.respond(ctx, &errorReply{&ConflictError{Component: c.id, Operation: r.Op, Trigger: r.Trigger, Requester: r.Requester}})
				return
			}
			c.respond(ctx, c.retried(r))
			return
		}
	}
	now := c.cfg.Clock.Now()
	// Step may return events together with an error: a timeout that came
	// due fires before the input is refused. Persist what happened, then
	// refuse.
	st, evs, effects, stepErr := machine.Step(c.m, c.mem.Status, in, now)
	// A request rejected under a client's operation id is recorded,
	// binding the id to the rejection (a retry must not be carried out
	// once the machine would take it).
	var rejected *machine.RejectedError
	if !errors.As(stepErr, &rejected) || in.Kind != machine.KindRequest || in.Operation == "" || !in.RecordRejection {
		rejected = nil
	}
	if stepErr != nil {
		stepErr = fmt.Errorf("%s: %w", c.id, stepErr)
	}
	records := make([]actors.Record, 0, len(evs)+2)
	cur := c.mem.Status
	for i, e := range evs {
		// Each record carries the status right after it; only the last
		// event of the step leaves the machine in st.
		after := cur
		if e.Type == machine.EventTransition {
			after.State, after.Since = e.To, e.Time
		}
		if i == len(evs)-1 {
			after = st
		}
		records = append(records, actors.Record{Event: e, Status: after})
		cur = after
	}
	refusal := len(records)
	if rejected != nil {
		records = append(records, actors.Record{Event: rejected.Event(in, now), Status: st})
	}
	alertsBefore := len(c.mem.Alerts)
	for _, a := range c.alerts(st, now) {
		records = append(records, actors.Record{Event: a, Status: st})
	}
	if len(records) == 0 {
		if len(c.mem.Alerts) != alertsBefore {
			c.changed() // an alert cleared
		}
		c.arm(ctx)
		if stepErr != nil {
			c.respond(ctx, &errorReply{stepErr})
		} else {
			c.respond(ctx, &Outcome{View: *c.view()})
		}
		return
	}
	stored, err := c.append(context.Background(), records, in.Operation)
	if err != nil {
		c.respond(ctx, &errorReply{err})
		return
	}
	// Effects are handed over and the next timeout armed before the reply,
	// so that whoever hears the reply (a simulation about to move its
	// clock) knows they are under way and sees the deadline.
	if mine := effectorsEffects(effects); len(mine) > 0 && c.cfg.Effects != nil {
		c.cfg.Effects.Perform(c.id, mine)
	}
	c.arm(ctx)
	switch {
	case rejected != nil:
		c.respond(ctx, &errorReply{&RefusedError{Component: c.id, Operation: in.Operation, Rejected: rejected, Stored: stored[refusal : refusal+1]}})
	case stepErr != nil:
		c.respond(ctx, &errorReply{stepErr})
	default:
		if in.Operation != "" && len(c.mem.Recent) > 0 && c.mem.Recent[len(c.mem.Recent)-1].Op == in.Operation {
			c.mem.Recent[len(c.mem.Recent)-1].Effects = effects
		}
		c.respond(ctx, &Outcome{View: *c.view(), Stored: stored, Effects: effects})
	}
	c.maybeSnapshot()
}

// effectorsEffects returns the effects the Effector performs: those whose
// performer is the effector. This is the one place that decides who
// performs an effect; the others (a coordinator saga step's, which the
// coordinator performs through its Hardware) are recorded with their
// performer and returned in the Outcome, never performed twice.
func effectorsEffects(effects []machine.Effect) []machine.Effect {
	mine := effects[:0:0]
	for _, e := range effects {
		if e.PerformedBy == machine.PerformedByEffector {
			mine = append(mine, e)
		}
	}
	return mine
}

// alerts returns the alert events that are new since the last check, and
// forgets standing alerts whose condition has cleared.
func (c *component) alerts(st machine.Status, now time.Time) []machine.Event {
	found := machine.CheckAlerts(c.m, st, c.mem.Transitions, now, c.cfg.Thresholds)
	standing := map[string]bool{}
	var fresh []machine.Event
	for _, a := range found {
		standing[a.Key] = true
		if !contains(c.mem.Alerts, a.Key) {
			fresh = append(fresh, a)
		}
	}
	kept := c.mem.Alerts[:0]
	for _, k := range c.mem.Alerts {
		if standing[k] {
			kept = append(kept, k)
		}
	}
	c.mem.Alerts = kept
	return fresh
}

func contains(keys []string, k string) bool {
	for _, have := range keys {
		if have == k {
			return true
		}
	}
	return false
}

// append persists records and applies them to memory. A version conflict
// means another incarnation wrote the stream: panic and recover from it.
func (c *component) append(ctx context.Context, records []actors.Record, op string) ([]events.Event, error) {
	batch := make([]events.Event, len(records))
	for i, r := range records {
		e := actors.EncodeRecord(r)
		// Only the request's own records carry its key: they are what
		// the memory of recent operations answers retries from.
		if op != "" && r.Event.Operation == op && r.Event.Input == machine.KindRequest {
			e.IdempotencyKey = fmt.Sprintf("%s/%d", op, i)
		}
		batch[i] = e
	}
	stored, dup, err := c.cfg.Log.Append(ctx, string(c.id), events.ExpectVersion(c.version), batch)
	var ve *events.VersionError
	if errors.As(err, &ve) {
		panic(fmt.Errorf("%s: another writer appended to the stream: %w", c.id, err))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot record %s's transition: %w", c.id, err)
	}
	if dup {
		// Our memory missed an operation the log has: recover from the log.
		panic(fmt.Errorf("%s: operation %s is in the log but not in memory", c.id, op))
	}
	for i, e := range stored {
		if c.mem, err = applyDecoded(c.mem, records[i], e); err != nil {
			panic(fmt.Errorf("%s: a record just written does not apply: %w", c.id, err))
		}
		c.version = e.StreamSeq
	}
	c.changed()
	return stored, nil
}

// changed tells Config.OnChange the durable status.
func (c *component) changed() {
	if c.cfg.OnChange != nil {
		kinds := make([]machine.AlertKind, len(c.mem.Alerts))
		for i, key := range c.mem.Alerts {
			kinds[i] = machine.AlertKindOf(key)
		}
		c.cfg.OnChange(Change{ID: c.id, Status: c.mem.Status, Kind: c.m.StateKind(c.mem.Status.State),
			Power: c.m.Power(c.mem.Status.State), Alerts: kinds})
	}
}

// retried answers a repeated operation with its first outcome: an
// *Outcome, or the *RefusedError of a rejected request.
func (c *component) retried(r opResult) any {
	out := &Outcome{View: *c.view(), Effects: r.Effects, Duplicate: true}
	for _, seq := range r.Seqs {
		evs, err := c.cfg.Log.ReadStream(context.Background(), string(c.id), seq, 1)
		if err != nil {
			c.log.Warn("cannot read a retried operation's record", "op", r.Op, "seq", seq, "error", err)
			continue
		}
		out.Stored = append(out.Stored, evs...)
	}
	if n := len(out.Stored); n > 0 && out.Stored[n-1].Type == string(machine.EventRejected) {
		if rec, err := actors.DecodeRecord(out.Stored[n-1]); err == nil {
			return &errorReply{&RefusedError{Component: c.id, Operation: r.Op, Rejected: c.m.Rejection(rec.Event), Stored: out.Stored, Duplicate: true}}
		}
	}
	return out
}

func (c *component) respond(ctx actor.Context, reply any) {
	if ctx.Sender() != nil {
		ctx.Respond(reply)
	}
}

// maybeSnapshot saves a snapshot when the policy says so. A failure is
// logged, not fatal: snapshots only shorten recovery.
func (c *component) maybeSnapshot() {
	now := c.cfg.Clock.Now()
	if !c.cfg.SnapshotPolicy.Due(c.snapSeq, c.snapTime, c.version, now) {
		return
	}
	state, err := json.Marshal(c.mem)
	if err == nil {
		err = c.cfg.Snapshots.Save(context.Background(), snapshots.Snapshot{Stream: string(c.id), Seq: c.version, Schema: snapshotSchema, Time: now, State: state}, c.cfg.SnapshotPolicy.Keep)
	}
	if err != nil {
		c.log.Warn("cannot save snapshot", "version", c.version, "error", err)
		return
	}
	c.snapSeq, c.snapTime = c.version, now
}

// arm sets a timer for the next timeout or alert check, stopping the
// previous one (a virtual clock's next deadline is then never a timer
// nobody waits for); a timer that fired before a newer arm is ignored
// through its generation.
func (c *component) arm(ctx actor.Context) {
	c.timerGen++
	c.disarmTimer()
	now := c.cfg.Clock.Now()
	next, ok := machine.NextDeadline(c.m, c.mem.Status)
	if at, ok2 := machine.NextAlertCheck(c.m, c.mem.Status, now, c.cfg.Thresholds); ok2 && (!ok || at.Before(next)) {
		next, ok = at, true
	}
	if !ok {
		return
	}
	gen, self, root := c.timerGen, ctx.Self(), ctx.ActorSystem().Root
	c.timer = c.cfg.Clock.AfterFunc(next.Sub(now), func() { root.Send(self, &tickMsg{gen: gen}) })
}

// disarmTimer stops the armed timer, if any.
func (c *component) disarmTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}
