package devices

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
)

// hostDev is one host's GPIO set. The lines belong to the Hardware, so
// they outlive a restart of the host's actor.
type hostDev struct {
	id    actors.ID
	name  string
	cfg   platform.Host
	out   map[string]adapters.OutputLine // by role
	in    map[string]adapters.InputLine  // by role
	pid   *actor.PID
	ready atomic.Bool // lines requested: the actor may read them
}

// line returns the line name of a role, "" if not wired.
func (d *hostDev) line(role string) string {
	l := d.cfg.Lines
	switch role {
	case rolePowerOut:
		return l.PowerOut.Name
	case roleResetOut:
		return l.ResetOut.Name
	case roleNMIOut:
		return l.NMIOut.Name
	case rolePowerGood:
		return l.PowerGood.Name
	case rolePostComplete:
		return l.PostComplete.Name
	case rolePowerButton:
		return l.PowerButton.Name
	case roleResetButton:
		return l.ResetButton.Name
	case roleNMIButton:
		return l.NMIButton.Name
	case roleIDButton:
		return l.IDButton.Name
	}
	return ""
}

// lineName names a line in errors and logs: "host 0 power_good (PS_PWROK)".
func (d *hostDev) lineName(role, line string) string {
	if line == "" {
		return fmt.Sprintf("host %s %s", d.name, role)
	}
	return fmt.Sprintf("host %s %s (%s)", d.name, role, line)
}

// Messages of a host actor.
type (
	hostInit struct{}
	hostEdge struct {
		role string
		edge adapters.Edge
	}
	hostEffect      struct{ effect machine.Effect }
	hostButtonCheck struct {
		role string
		at   time.Time
	}
	hostReconcile struct {
		recorded machine.Status
		why      string
		reply    replyTo[reconcileReply]
	}
	// hostReadLine asks for an input's level; ctx ends when the asker
	// gives up.
	hostReadLine struct {
		ctx   context.Context
		role  string
		reply replyTo[lineLevel]
	}
	// hostSetLine asks for an output to be driven; the asker times it.
	hostSetLine struct {
		ctx      context.Context
		role     string
		asserted bool
		reply    replyTo[error]
	}
)

type lineLevel struct {
	asserted bool
	err      error
}

type reconcileReply struct {
	drifts []Drift
	err    error
}

// hostActor owns one host's lines: it performs the host's effects one at a
// time and turns the edges of its inputs into observations.
type hostActor struct {
	h *Hardware
	d *hostDev

	level map[string]bool // last level seen per input role
	known map[string]bool

	pressAt    time.Time // last front-panel power button press
	lastEffect string    // last pulse statemgr issued, for causes
	lastOp     string
	lastAt     time.Time
}

func (a *hostActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.level, a.known = map[string]bool{}, map[string]bool{}
		if a.d.ready.Load() {
			a.h.send(ctx.Self(), hostInit{})
		}
	case *envelope:
		defer a.h.track.end(a.d.pid.Id)
		switch msg := m.msg.(type) {
		case hostInit:
			a.init()
		case hostEdge:
			a.edge(ctx, msg.role, msg.edge)
		case hostEffect:
			a.perform(ctx, msg.effect)
		case hostButtonCheck:
			a.checkButton(msg)
		case hostReconcile:
			drifts, err := a.reconcile(msg.recorded, msg.why)
			msg.reply.send(a.h.track, reconcileReply{drifts: drifts, err: err})
		case hostReadLine:
			v, err := a.read(msg.ctx, msg.role)
			msg.reply.send(a.h.track, lineLevel{asserted: v, err: err})
		case hostSetLine:
			msg.reply.send(a.h.track, a.set(msg.ctx, msg.role, msg.asserted))
		}
	}
}

// read reads an input line with retries.
func (a *hostActor) read(ctx context.Context, role string) (bool, error) {
	dev := a.d.lineName(role, a.d.line(role))
	line := a.d.in[role]
	if line == nil {
		return false, &Error{Device: dev, Op: "read line", Err: ErrNotWired}
	}
	var v bool
	err := a.h.call(ctx, a.d.pid.Id, dev, "read line", func(ctx context.Context) error {
		var err error
		v, err = line.Read(ctx)
		return err
	})
	return v, err
}

// init reads the inputs' levels, the baseline edges are compared with.
func (a *hostActor) init() {
	for role := range a.d.in {
		v, err := a.read(a.h.ctx, role)
		if err != nil {
			a.h.log.Error("cannot read a host input", "host", a.d.name, "error", err)
			continue
		}
		a.level[role], a.known[role] = v, true
	}
}

func word(asserted bool) string {
	if asserted {
		return "asserted"
	}
	return "deasserted"
}

// window is how long after a button press or a pulse a power good change
// is attributed to it.
func (a *hostActor) window() time.Duration {
	t := a.h.plat.Timeouts
	return t.PowerGood + t.GracefulShutdown + t.ForceOffHold
}

func (a *hostActor) edge(ctx actor.Context, role string, e adapters.Edge) {
	if a.known[role] && a.level[role] == e.Asserted {
		return // already seen, e.g. by init
	}
	a.level[role], a.known[role] = e.Asserted, true
	line := a.d.line(role)
	switch role {
	case rolePowerGood:
		in := machine.Input{Trigger: machine.ObservedPowerGoodDeasserted, Cause: fmt.Sprintf("%s %s", line, word(e.Asserted))}
		if e.Asserted {
			in.Trigger = machine.ObservedPowerGoodAsserted
		}
		switch {
		case !a.pressAt.IsZero() && e.Time.Sub(a.pressAt) <= a.window():
			in.Cause += " after a front-panel power button press (outside statemgr)"
			a.pressAt = time.Time{}
		case a.lastEffect != "" && e.Time.Sub(a.lastAt) <= a.window():
			in.Cause += " after " + a.lastEffect
			in.Operation = a.lastOp
			a.lastEffect = ""
		case a.lastEffect == "":
			in.Cause += " with no request from statemgr"
		}
		a.h.observe(a.d.id, in)
	case rolePostComplete:
		if e.Asserted && a.level[rolePowerGood] {
			a.h.observe(a.d.id, machine.Input{Trigger: machine.ObservedPostComplete, Cause: line + " asserted"})
			return
		}
		a.h.log.Debug("post complete changed", "host", a.d.name, "line", line, "asserted", e.Asserted)
	case rolePowerButton, roleResetButton, roleNMIButton, roleIDButton:
		if !e.Asserted {
			a.h.log.Info("front-panel button released", "host", a.d.name, "line", line)
			return
		}
		if role == rolePowerButton {
			a.pressAt = e.Time
		}
		a.h.observe(a.d.id, machine.Input{Trigger: ObservedButtonPressed,
			Cause: fmt.Sprintf("front-panel %s pressed (%s asserted): a change made outside statemgr", buttonLabel(role), line)})
		a.h.after(a.h.plat.Timeouts.ForceOffHold, ctx.Self(), hostButtonCheck{role: role, at: e.Time})
	}
}

// buttonLabel names the button behind a role: a front-panel input, or the
// output that presses it towards the host.
func buttonLabel(role string) string {
	switch role {
	case rolePowerButton, rolePowerOut:
		return "power button"
	case roleResetButton, roleResetOut:
		return "reset button"
	case roleNMIButton, roleNMIOut:
		return "NMI button"
	}
	return "identify button"
}

// checkButton reports a button still asserted since the press at m.at.
func (a *hostActor) checkButton(m hostButtonCheck) {
	if !a.level[m.role] {
		return
	}
	if m.role == rolePowerButton && !a.pressAt.Equal(m.at) && !a.pressAt.IsZero() {
		return // pressed again since
	}
	a.h.observe(a.d.id, machine.Input{Trigger: ObservedButtonStuck,
		Cause: fmt.Sprintf("front-panel %s (%s) asserted for %s or more: stuck or held down", buttonLabel(m.role), a.d.line(m.role), a.h.plat.Timeouts.ForceOffHold)})
}

// perform runs one effect of the host; a failure goes back to the host as
// an effect_failed observation.
func (a *hostActor) perform(ctx actor.Context, e machine.Effect) {
	t := a.h.plat.Timeouts
	var err error
	switch e.Name {
	case "press_power_button":
		delay, derr := durationParam(e, "delay", 0)
		if derr != nil {
			err = derr
			break
		}
		if delay > 0 {
			now := withoutParam(e, "delay")
			a.h.log.Info("power button press scheduled", "host", a.d.name, "delay", delay, "operation", e.Operation)
			a.h.after(delay, ctx.Self(), hostEffect{effect: now})
			return
		}
		err = a.pulse(rolePowerOut, e, t.PowerPulse)
	case "hold_power_button":
		err = a.pulse(rolePowerOut, e, t.ForceOffHold)
	case "pulse_reset":
		err = a.pulse(roleResetOut, e, t.ResetPulse)
	case "nmi":
		err = a.pulse(roleNMIOut, e, a.h.cfg.NMIPulse)
	default:
		err = fmt.Errorf("%w: %s is not a host operation (host effects: press_power_button, hold_power_button, pulse_reset, nmi)", ErrUnsupportedEffect, e.Name)
	}
	if err != nil {
		a.h.fail(a.d.id, e, err)
	}
}

// pulse asserts an output for the effect's duration (def if it has none),
// timed on the Hardware's clock, then deasserts it, even when cut short.
func (a *hostActor) pulse(role string, e machine.Effect, def time.Duration) error {
	d, err := durationParam(e, "duration", def)
	if err != nil {
		return err
	}
	line, dev, err := a.output(role, e.Name)
	if err != nil {
		return err
	}
	if err := a.drive(a.h.ctx, dev, line, true); err != nil {
		return err
	}
	a.lastEffect, a.lastOp, a.lastAt = effectString(e), e.Operation, a.h.clk.Now()
	serr := a.h.track.sleep(a.h.ctx, a.d.pid.Id, d)
	derr := a.drive(context.Background(), dev, line, false)
	if serr != nil {
		return &Error{Device: dev, Op: e.Name, Err: fmt.Errorf("pulse cut short (%w); line deasserted", serr)}
	}
	if derr != nil {
		return derr
	}
	a.h.log.Info("pulsed", "host", a.d.name, "line", a.d.line(role), "duration", d, "effect", e.Name, "operation", e.Operation)
	return nil
}

// set drives an output for the coordinator, which times its own presses.
// An assertion is remembered like a pulse, so that the power good edge it
// causes is reported as statemgr's doing.
func (a *hostActor) set(ctx context.Context, role string, asserted bool) error {
	line, dev, err := a.output(role, "drive for the coordinator")
	if err != nil {
		return err
	}
	if err := a.drive(ctx, dev, line, asserted); err != nil {
		return err
	}
	if asserted {
		a.lastEffect, a.lastOp, a.lastAt = buttonLabel(role)+" asserted by the coordinator", "", a.h.clk.Now()
	}
	a.h.log.Info("line driven by the coordinator", "host", a.d.name, "line", a.d.line(role), "asserted", asserted)
	return nil
}

// output returns a wired output line and its name for errors; op says
// what needed it.
func (a *hostActor) output(role, op string) (adapters.OutputLine, string, error) {
	dev := a.d.lineName(role, a.d.line(role))
	line := a.d.out[role]
	if line == nil {
		return nil, dev, &Error{Device: dev, Op: op, Err: ErrNotWired}
	}
	return line, dev, nil
}

// drive sets an output with retries.
func (a *hostActor) drive(ctx context.Context, dev string, line adapters.OutputLine, asserted bool) error {
	op := "deassert"
	if asserted {
		op = "assert"
	}
	return a.h.call(ctx, a.d.pid.Id, dev, op, func(ctx context.Context) error { return line.Set(ctx, asserted) })
}

// reconcile compares the lines with the recorded status and reports each
// difference to the host.
func (a *hostActor) reconcile(rec machine.Status, why string) ([]Drift, error) {
	pg, err := a.read(a.h.ctx, rolePowerGood)
	if err != nil {
		return nil, err
	}
	a.level[rolePowerGood], a.known[rolePowerGood] = pg, true
	var drifts []Drift
	line := a.d.line(rolePowerGood)
	// A state contradicts the level it does not read (a transitional
	// state the level it waits for being there already); a state whose
	// power is any (Error: the hardware alone knows where an errored host
	// stands) every level.
	sent := a.h.power(a.d.id, rec.State).Contradicts(pg)
	if sent {
		in := machine.Input{Trigger: machine.ObservedPowerGoodDeasserted, Cause: fmt.Sprintf("%s: %s %s while the log says %s", why, line, word(pg), rec.State)}
		if pg {
			in.Trigger = machine.ObservedPowerGoodAsserted
		}
		a.h.observe(a.d.id, in)
		drifts = append(drifts, Drift{Component: a.d.id, Device: line, Recorded: rec.State, Observed: line + " " + word(pg), Input: in})
	}
	if _, wired := a.d.in[rolePostComplete]; !wired || !pg || !(rec.State == machine.StateRunning || sent) {
		return drifts, nil
	}
	post, err := a.read(a.h.ctx, rolePostComplete)
	if err != nil {
		return drifts, err
	}
	a.level[rolePostComplete], a.known[rolePostComplete] = post, true
	booted := rec.BootProgress == machine.BootProgressOSStart || rec.BootProgress == machine.BootProgressOSRunning
	if post && (!booted || sent) {
		pline := a.d.line(rolePostComplete)
		in := machine.Input{Trigger: machine.ObservedPostComplete, Cause: fmt.Sprintf("%s: %s asserted while the log's boot progress is %s", why, pline, rec.BootProgress)}
		a.h.observe(a.d.id, in)
		drifts = append(drifts, Drift{Component: a.d.id, Device: pline, Recorded: "boot progress " + rec.BootProgress, Observed: pline + " asserted", Input: in})
	}
	return drifts, nil
}
