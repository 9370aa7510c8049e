package devices

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/pmbus"
)

// psuPollStep is how often a PSU's status is read while waiting for its
// output to come up or go down.
const psuPollStep = 100 * time.Millisecond

// chassisDev is one chassis: its PSUs and their power-on order.
type chassisDev struct {
	id       actors.ID
	name     string
	required int         // PSUs with power good for chassis power
	psus     []*psuDev   // in file order
	order    []*psuDev   // power-on order; power-off runs in reverse
	hosts    []actors.ID // the hosts it powers
	pid      *actor.PID  // the chassis actor: sequencing and aggregation
}

// psuDev is one PSU.
type psuDev struct {
	name    string
	cfg     platform.PSU // where the platform file puts it
	chassis *chassisDev
	dev     *pmbus.Device
	pid     *actor.PID
}

// psuReading is one read of a PSU's status registers.
type psuReading struct {
	psu    string
	status pmbus.Status
	err    error
}

// Messages of PSU and chassis actors.
type (
	psuPoll   struct{}
	psuSwitch struct {
		on  bool
		gen uint64
	}
	// psuRead asks for a fresh reading; ctx ends when the asker gives up.
	psuRead struct {
		ctx   context.Context
		reply replyTo[psuReading]
	}
	// psuCommand asks for one PMBus write (a method of pmbus.Device,
	// e.g. (*pmbus.Device).On), performed by the actor with h.call.
	psuCommand struct {
		ctx   context.Context
		op    string
		write func(*pmbus.Device, context.Context) error
		reply replyTo[error]
	}
	psuReport struct{ reading psuReading }
	// psuCommanded tells the chassis a PSU was commanded outside its own
	// sequences (by the coordinator), so that the power good change that
	// follows is attributed to it.
	psuCommanded struct {
		psu, op string
		at      time.Time
	}

	chassisEffect struct{ effect machine.Effect }
	seqStart      struct{ gen uint64 }
	seqResult     struct {
		gen uint64
		psu string
		err error
	}
	chassisReconcile struct {
		recorded machine.Status
		why      string
		readings []psuReading
		reply    replyTo[reconcileReply]
	}
)

// psuActor owns one PSU's bus: it polls its status and switches its
// output, one operation at a time, reporting every read to its chassis.
type psuActor struct {
	h *Hardware
	d *psuDev
}

func (a *psuActor) Receive(ctx actor.Context) {
	m, ok := ctx.Message().(*envelope)
	if !ok {
		return
	}
	defer a.h.track.end(a.d.pid.Id)
	switch msg := m.msg.(type) {
	case psuPoll:
		a.report(a.read(a.h.ctx))
	case psuSwitch:
		err := a.switchOutput(msg.on)
		a.h.send(a.d.chassis.pid, seqResult{gen: msg.gen, psu: a.d.name, err: err})
	case psuRead:
		msg.reply.send(a.h.track, a.read(msg.ctx))
	case psuCommand:
		msg.reply.send(a.h.track, a.command(msg))
	case psuMeasure:
		msg.reply.send(a.h.track, a.measure(msg.ctx))
	}
}

func (a *psuActor) read(ctx context.Context) psuReading {
	var st pmbus.Status
	err := a.h.call(ctx, a.d.pid.Id, a.d.name, "read status", func(ctx context.Context) error {
		var err error
		st, err = a.d.dev.Status(ctx)
		return err
	})
	return psuReading{psu: a.d.name, status: st, err: err}
}

func (a *psuActor) report(r psuReading) { a.h.send(a.d.chassis.pid, psuReport{reading: r}) }

func (a *psuActor) command(c psuCommand) error {
	err := a.h.call(c.ctx, a.d.pid.Id, a.d.name, c.op, func(ctx context.Context) error { return c.write(a.d.dev, ctx) })
	if err == nil {
		a.h.log.Info("psu commanded by the coordinator", "psu", a.d.name, "op", c.op)
		a.h.send(a.d.chassis.pid, psuCommanded{psu: a.d.name, op: c.op, at: a.h.clk.Now()})
	}
	return err
}

// switchOutput writes OPERATION (ON after CLEAR_FAULTS, or SOFT OFF) and
// waits for power good to follow, failing early on a fault.
func (a *psuActor) switchOutput(on bool) error {
	ctx, key, name, dev := a.h.ctx, a.d.pid.Id, a.d.name, a.d.dev
	op := "power off (OPERATION soft off)"
	if on {
		op = "power on (OPERATION on)"
		err := a.h.call(ctx, key, name, "clear faults", dev.ClearFaults)
		if err != nil && !errors.Is(err, adapters.ErrUnsupported) {
			return err
		}
		if err := a.h.call(ctx, key, name, op, dev.On); err != nil {
			return err
		}
	} else if err := a.h.call(ctx, key, name, op, dev.SoftOff); err != nil {
		return err
	}
	deadline := a.h.clk.Now().Add(a.h.cfg.PSUTimeout)
	for {
		r := a.read(ctx)
		a.report(r)
		if r.err != nil {
			return r.err
		}
		if r.status.PowerGood() == on {
			a.h.log.Info("psu switched", "psu", name, "on", on)
			return nil
		}
		if faults := faultFlags(r.status); on && len(faults) > 0 {
			return &Error{Device: name, Op: op, Err: fmt.Errorf("%w: %s", ErrNoPowerGood, r.status)}
		}
		if !a.h.clk.Now().Before(deadline) {
			return &Error{Device: name, Op: op, Err: fmt.Errorf("%w: still %s after %s", ErrNoPowerGood, r.status, a.h.cfg.PSUTimeout)}
		}
		if err := a.h.track.sleep(ctx, key, psuPollStep); err != nil {
			return &Error{Device: name, Op: op, Err: err}
		}
	}
}

// faultFlags returns the set STATUS_* flags that report a fault or a
// warning, leaving out those that only say the output is off.
func faultFlags(st pmbus.Status) []string {
	var out []string
	for _, f := range st.Flags() {
		switch f {
		case "WORD.OFF", "WORD.POWER_GOOD#", "WORD.NONE_OF_THE_ABOVE", "WORD.BUSY":
			continue
		}
		out = append(out, f)
	}
	return out
}

// inputGood reports whether a PSU's input is good: no VIN_UV fault and no
// unit-off-for-low-input.
func inputGood(st pmbus.Status) bool {
	return uint16(st.Word)&adapters.StatusVinUV == 0 && !st.Input.Lost()
}

// sequence is a power sequence in progress.
type sequence struct {
	gen    uint64 // a new sequence supersedes the one running
	on     bool
	active bool
	idx    int
	effect machine.Effect
}

// chassisActor sequences a chassis' PSUs and turns their readings into
// the chassis' observations: power good, power status, PSU faults.
type chassisActor struct {
	h *Hardware
	d *chassisDev

	last        map[string]psuReading
	faults      map[string]map[string]bool // flags reported per PSU
	unreachable map[string]bool
	good        *bool  // chassis power good as last reported (nil: not known yet)
	powerStatus string // as last reported ("": not yet)
	seq         sequence
	commanded   psuCommanded // the last PSU command from outside the sequences
}

func newChassisActor(h *Hardware, d *chassisDev) *chassisActor {
	return &chassisActor{h: h, d: d, last: map[string]psuReading{}, faults: map[string]map[string]bool{}, unreachable: map[string]bool{}}
}

func (a *chassisActor) Receive(ctx actor.Context) {
	m, ok := ctx.Message().(*envelope)
	if !ok {
		return
	}
	defer a.h.track.end(a.d.pid.Id)
	switch msg := m.msg.(type) {
	case psuReport:
		a.note(msg.reading, "", "")
		a.aggregate()
	case psuCommanded:
		a.commanded = msg
	case chassisEffect:
		a.perform(ctx, msg.effect)
	case seqStart:
		if msg.gen == a.seq.gen {
			a.start()
		}
	case seqResult:
		a.step(msg)
	case chassisReconcile:
		msg.reply.send(a.h.track, reconcileReply{drifts: a.reconcile(msg.recorded, msg.why, msg.readings)})
	}
}

func (a *chassisActor) perform(ctx actor.Context, e machine.Effect) {
	switch e.Name {
	case "sequence_power_on", "sequence_power_off":
		if len(a.d.order) == 0 {
			a.h.fail(a.d.id, e, fmt.Errorf("%w: chassis %s has no psu to sequence; add psu blocks to the platform file", ErrUnsupportedEffect, a.d.name))
			return
		}
		delay, err := durationParam(e, "delay", 0)
		if err != nil {
			a.h.fail(a.d.id, e, err)
			return
		}
		if a.seq.active {
			a.h.log.Warn("power sequence superseded", "chassis", a.d.name, "by", e.Name, "was", a.seq.effect.Name)
		}
		a.seq = sequence{gen: a.seq.gen + 1, on: e.Name == "sequence_power_on", effect: e}
		if delay > 0 {
			a.h.after(delay, ctx.Self(), seqStart{gen: a.seq.gen})
			return
		}
		a.start()
	default:
		a.h.fail(a.d.id, e, fmt.Errorf("%w: %s is not a chassis operation (chassis effects: sequence_power_on, sequence_power_off)", ErrUnsupportedEffect, e.Name))
	}
}

func (a *chassisActor) order() []*psuDev {
	if a.seq.on {
		return a.d.order
	}
	rev := slices.Clone(a.d.order)
	slices.Reverse(rev)
	return rev
}

func (a *chassisActor) start() {
	a.seq.active, a.seq.idx = true, 0
	a.h.log.Info("power sequence started", "chassis", a.d.name, "effect", a.seq.effect.Name, "order", psuNames(a.order()))
	a.h.send(a.order()[0].pid, psuSwitch{on: a.seq.on, gen: a.seq.gen})
}

func (a *chassisActor) step(r seqResult) {
	if r.gen != a.seq.gen || !a.seq.active {
		a.h.log.Debug("result of a superseded power sequence", "chassis", a.d.name, "psu", r.psu, "error", r.err)
		return
	}
	order := a.order()
	if r.err != nil {
		a.seq.active = false
		a.h.fail(a.d.id, a.seq.effect, fmt.Errorf("sequence stopped at %s (order %s): %w", r.psu, strings.Join(psuNames(order), ", "), r.err))
		return
	}
	a.seq.idx++
	if a.seq.idx < len(order) {
		a.h.send(order[a.seq.idx].pid, psuSwitch{on: a.seq.on, gen: a.seq.gen})
		return
	}
	a.seq.active = false
	in := machine.Input{Trigger: machine.ObservedPowerGoodDeasserted, Operation: a.seq.effect.Operation,
		Cause: fmt.Sprintf("power-off sequence complete: %s off", strings.Join(psuNames(order), ", "))}
	if a.seq.on {
		in.Trigger = machine.ObservedPowerGoodAsserted
		in.Cause = fmt.Sprintf("power-on sequence complete: %s power good", strings.Join(psuNames(order), ", "))
	}
	on := a.seq.on
	a.good = &on
	a.h.observe(a.d.id, in)
}

func psuNames(ps []*psuDev) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

// note records a reading and reports what is new in it: a PSU that stopped
// answering, fault flags not reported before. why and state are set when
// reconciling, for the cause.
func (a *chassisActor) note(r psuReading, why, state string) []Drift {
	a.last[r.psu] = r
	suffix := func(cause string) string {
		if why == "" {
			return cause
		}
		return fmt.Sprintf("%s: %s while the log says %s", why, cause, state)
	}
	if r.err != nil {
		if a.unreachable[r.psu] {
			return nil
		}
		a.unreachable[r.psu] = true
		in := machine.Input{Trigger: ObservedPSUUnreachable, Cause: suffix(r.err.Error())}
		a.h.observe(a.d.id, in)
		return []Drift{{Component: a.d.id, Device: r.psu, Recorded: state, Observed: "unreachable", Input: in, Err: a.unreachableError(r)}}
	}
	if a.unreachable[r.psu] {
		a.h.log.Info("psu answers again", "psu", r.psu)
		a.unreachable[r.psu] = false
	}
	flags := faultFlags(r.status)
	prev := a.faults[r.psu]
	now := make(map[string]bool, len(flags))
	fresh := false
	for _, f := range flags {
		now[f] = true
		fresh = fresh || !prev[f]
	}
	for f := range prev {
		if !now[f] {
			a.h.log.Info("psu fault cleared", "psu", r.psu, "flag", f)
		}
	}
	a.faults[r.psu] = now
	if !fresh {
		return nil
	}
	in := machine.Input{Trigger: ObservedPSUFault, Cause: suffix(fmt.Sprintf("%s reports %s", r.psu, r.status))}
	a.h.observe(a.d.id, in)
	return []Drift{{Component: a.d.id, Device: r.psu, Recorded: state, Observed: r.status.String(), Input: in}}
}

// unreachableError is the startup report of a PSU reading that failed:
// the PSU, where the platform file says it is, and the read's error.
func (a *chassisActor) unreachableError(r psuReading) error {
	u := &UnreachablePSU{PSU: r.psu, Chassis: a.d.name, Err: r.err}
	for _, p := range a.d.psus {
		if p.name == r.psu {
			u.Backend, u.Bus, u.Address = p.cfg.Backend, p.cfg.Bus, p.cfg.Address
		}
	}
	return u
}

// summary is the chassis as its PSUs' last readings show it.
type summary struct {
	complete   bool // every PSU has been read
	good       bool // enough PSUs have power good
	goodKnown  bool // false when the unreadable PSUs could change good
	status     string
	statusOK   bool // false when the unreadable PSUs could change status
	pg, inputs int  // PSUs with power good, with good input
	evidence   string
}

func (a *chassisActor) summarize() summary {
	var s summary
	if len(a.d.psus) == 0 {
		return s // nothing to tell
	}
	unknown := 0
	var ev []string
	for _, p := range a.d.psus {
		r, ok := a.last[p.name]
		if !ok {
			return s
		}
		if r.err != nil {
			unknown++
			ev = append(ev, p.name+" unreadable")
			continue
		}
		if r.status.PowerGood() {
			s.pg++
		}
		if inputGood(r.status) {
			s.inputs++
		}
		ev = append(ev, fmt.Sprintf("%s %s", p.name, r.status))
	}
	req := a.d.required
	s.complete = true
	s.good = s.pg >= req
	s.goodKnown = s.good || s.pg+unknown < req
	s.status = machine.PowerStatusBrownOut
	if s.inputs >= req {
		s.status = machine.PowerStatusGood
	}
	s.statusOK = s.inputs >= req || s.inputs+unknown < req
	s.evidence = strings.Join(ev, "; ")
	return s
}

func (a *chassisActor) goodCause(s summary) string {
	return fmt.Sprintf("%d of %d psus have power good, %d required (%s)", s.pg, len(a.d.psus), a.d.required, s.evidence)
}

func (a *chassisActor) statusCause(s summary) string {
	return fmt.Sprintf("%d of %d psus have good input, %d required (%s)", s.inputs, len(a.d.psus), a.d.required, s.evidence)
}

// aggregate reports changes of the chassis' power status and power good.
// While a sequence runs, its outcome reports power good instead.
func (a *chassisActor) aggregate() {
	s := a.summarize()
	if !s.complete {
		return
	}
	if s.statusOK && s.status != a.powerStatus {
		a.powerStatus = s.status
		a.h.observe(a.d.id, machine.Input{Trigger: machine.ObservedPowerStatus, Value: s.status, Cause: a.statusCause(s)})
	}
	if !s.goodKnown || a.seq.active {
		return
	}
	if a.good == nil {
		a.good = &s.good
		return
	}
	if *a.good == s.good {
		return
	}
	a.good = &s.good
	why := "with no sequence from statemgr"
	if c := a.commanded; c.psu != "" && a.h.clk.Now().Sub(c.at) <= 2*a.h.cfg.PSUTimeout {
		why = fmt.Sprintf("after %s %s by the coordinator", c.psu, c.op)
	}
	in := machine.Input{Trigger: machine.ObservedPowerGoodDeasserted, Cause: "chassis power good lost " + why + ": " + a.goodCause(s)}
	if !s.good {
		a.tellHosts(in.Cause)
	}
	if s.good {
		in = machine.Input{Trigger: machine.ObservedPowerGoodAsserted, Cause: "chassis power good " + why + ": " + a.goodCause(s)}
	}
	a.h.observe(a.d.id, in)
}

// tellHosts reports the chassis' power loss to each of its hosts, before
// the chassis records it, so that no host is ever recorded up (or powering
// up) under a chassis that is not On. A host that is Off keeps it as
// evidence.
func (a *chassisActor) tellHosts(cause string) {
	for _, host := range a.d.hosts {
		a.h.observe(host, machine.Input{Trigger: machine.ObservedChassisPowerLost, Cause: cause})
	}
}

// reconcile compares fresh PSU readings with the recorded status and
// reports each difference to the chassis.
func (a *chassisActor) reconcile(rec machine.Status, why string, readings []psuReading) []Drift {
	var drifts []Drift
	for _, r := range readings {
		drifts = append(drifts, a.note(r, why, rec.State)...)
	}
	s := a.summarize()
	if !s.complete {
		return drifts
	}
	if s.statusOK && s.status != rec.PowerStatus {
		in := machine.Input{Trigger: machine.ObservedPowerStatus, Value: s.status,
			Cause: fmt.Sprintf("%s: %s while the log says power status %s", why, a.statusCause(s), rec.PowerStatus)}
		a.h.observe(a.d.id, in)
		if rec.PowerStatus != "" && rec.PowerStatus != machine.PowerStatusUndefined {
			drifts = append(drifts, Drift{Component: a.d.id, Device: "psu inputs", Recorded: "power status " + rec.PowerStatus, Observed: "power status " + s.status, Input: in})
		}
	}
	if s.statusOK {
		a.powerStatus = s.status
	}
	if !s.goodKnown || a.seq.active {
		return drifts
	}
	a.good = &s.good
	if a.h.power(a.d.id, rec.State).Contradicts(s.good) { // as the host's
		in := machine.Input{Trigger: machine.ObservedPowerGoodDeasserted}
		if s.good {
			in.Trigger = machine.ObservedPowerGoodAsserted
		}
		in.Cause = fmt.Sprintf("%s: %s while the log says %s", why, a.goodCause(s), rec.State)
		if !s.good {
			a.tellHosts(in.Cause)
		}
		a.h.observe(a.d.id, in)
		drifts = append(drifts, Drift{Component: a.d.id, Device: "psus", Recorded: rec.State, Observed: fmt.Sprintf("chassis power good %v", s.good), Input: in})
	}
	return drifts
}
