package simhw

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statemgr/statemgr/adapters"
)

type lineDir int

const (
	lineOutput lineDir = iota // driven by the consumer (statemgr)
	lineInput                 // driven by the model
)

// line is one GPIO line of the board. value is its logical state in the
// board's polarity: for an output the level its consumer drives (deasserted
// when nobody holds it), for an input the level the model last published.
type line struct {
	name  string
	pol   adapters.Polarity // on the board
	dir   lineDir
	host  *host
	value bool
	owner *request
}

func (p *Platform) addLine(cfg adapters.LineConfig, dir lineDir, h *host) *line {
	ln := &line{name: cfg.Name, pol: cfg.Polarity, dir: dir, host: h}
	p.lines[cfg.Name] = ln
	return ln
}

// request is a consumer's hold on a line.
type request struct {
	chip   *gpioChip
	line   *line
	invert bool // the consumer's polarity differs from the board's
	onEdge func(adapters.Edge)
	closed atomic.Bool
}

// setInput publishes a new level of an input line and queues the edge for
// the consumer watching it.
func (p *Platform) setInput(ln *line, v bool) {
	if ln.value == v {
		return
	}
	ln.value = v
	if r := ln.owner; r != nil && r.onEdge != nil {
		r.chip.enqueue(delivery{req: r, edge: adapters.Edge{Line: ln.name, Asserted: v != r.invert, Time: p.at}})
	}
}

// GPIO returns a new handle on the board's GPIO lines, like opening the
// chip. Each line can be held by one consumer at a time across all handles;
// requesting a held line fails with adapters.ErrLineBusy. Edges of the
// handle's input lines are delivered by one goroutine per handle, in the
// order the model produced them, with no lock of the model held: a callback
// may call back into the platform, but must not call Settle or Close of the
// Platform.
func (p *Platform) GPIO() adapters.GPIO {
	c := &gpioChip{
		p:      p,
		idle:   make(chan struct{}),
		isIdle: true,
		kick:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	close(c.idle)
	p.mu.Lock()
	if p.closed {
		c.closed = true
	} else {
		p.chips = append(p.chips, c)
	}
	p.mu.Unlock()
	return c
}

// gpioChip is one GPIO handle.
type gpioChip struct {
	p *Platform

	// Guarded by p.mu.
	reqs    []*request
	closed  bool
	started bool

	// Edge delivery, guarded by dmu (taken after p.mu, never before).
	dmu      sync.Mutex
	queue    []delivery
	idle     chan struct{} // closed while the queue is empty and no callback runs
	isIdle   bool
	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
}

type delivery struct {
	req  *request
	edge adapters.Edge
}

func (c *gpioChip) enqueue(d delivery) {
	c.dmu.Lock()
	c.queue = append(c.queue, d)
	if c.isIdle {
		c.isIdle = false
		c.idle = make(chan struct{})
	}
	c.dmu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// deliver runs the handle's callbacks, one edge at a time, in order.
func (c *gpioChip) deliver() {
	defer c.p.wg.Done()
	for {
		c.dmu.Lock()
		if len(c.queue) == 0 {
			if !c.isIdle {
				c.isIdle = true
				close(c.idle)
			}
			c.dmu.Unlock()
			select {
			case <-c.kick:
				continue
			case <-c.stop:
				return
			}
		}
		d := c.queue[0]
		c.queue[0] = delivery{}
		c.queue = c.queue[1:]
		c.dmu.Unlock()
		select {
		case <-c.stop:
			return
		default:
		}
		if !d.req.closed.Load() {
			d.req.onEdge(d.edge)
		}
	}
}

// waitIdle waits until every queued edge has been delivered; it reports
// whether there was anything to wait for.
func (c *gpioChip) waitIdle(ctx context.Context) (bool, error) {
	c.dmu.Lock()
	idle, was := c.idle, c.isIdle
	c.dmu.Unlock()
	if was {
		return false, nil
	}
	select {
	case <-idle:
		return true, nil
	case <-c.stop:
		return false, nil
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

// Output requests cfg.Name as an output, initially deasserted in cfg's
// polarity (an empty polarity means active-high, the kernel's default).
func (c *gpioChip) Output(cfg adapters.LineConfig) (adapters.OutputLine, error) {
	r, err := c.request(cfg, lineOutput, nil)
	if err != nil {
		return nil, err
	}
	return &outputLine{r: r}, nil
}

// Input requests cfg.Name as an input; onEdge, if not nil, receives every
// change of the line on the handle's delivery goroutine, in order.
func (c *gpioChip) Input(cfg adapters.LineConfig, onEdge func(adapters.Edge)) (adapters.InputLine, error) {
	r, err := c.request(cfg, lineInput, onEdge)
	if err != nil {
		return nil, err
	}
	return &inputLine{r: r}, nil
}

func (c *gpioChip) request(cfg adapters.LineConfig, dir lineDir, onEdge func(adapters.Edge)) (*request, error) {
	const op = "request line"
	p := c.p
	p.lock()
	defer p.unlock()
	if c.closed || p.closed {
		return nil, deviceErr(cfg.Name, op, adapters.NoCmd, adapters.ErrClosed)
	}
	ln := p.lines[cfg.Name]
	if ln == nil {
		return nil, deviceErr(cfg.Name, op, adapters.NoCmd, adapters.ErrNoLine)
	}
	pol := cfg.Polarity
	if pol == "" {
		pol = adapters.ActiveHigh
	}
	if pol != adapters.ActiveHigh && pol != adapters.ActiveLow {
		return nil, deviceErr(cfg.Name, op, adapters.NoCmd, fmt.Errorf("polarity %q: %w", cfg.Polarity, ErrInvalidArgument))
	}
	if p.has(LineHeld, cfg.Name) {
		return nil, deviceErr(cfg.Name, op, adapters.NoCmd, fmt.Errorf("held by another process: %w", adapters.ErrLineBusy))
	}
	if ln.owner != nil {
		return nil, deviceErr(cfg.Name, op, adapters.NoCmd, fmt.Errorf("already requested: %w", adapters.ErrLineBusy))
	}
	if ln.dir != dir {
		what := "an input"
		if ln.dir == lineOutput {
			what = "an output"
		}
		return nil, deviceErr(cfg.Name, op, adapters.NoCmd, fmt.Errorf("the board wires it as %s: %w", what, adapters.ErrUnsupported))
	}
	r := &request{chip: c, line: ln, invert: pol != ln.pol, onEdge: onEdge}
	ln.owner = r
	c.reqs = append(c.reqs, r)
	if onEdge != nil && !c.started {
		c.started = true
		p.wg.Add(1)
		go c.deliver()
	}
	if dir == lineOutput {
		// Deasserted in the consumer's polarity.
		ln.value = r.invert
		p.updateHost(ln.host)
	}
	return r, nil
}

// release gives a line back; an output returns to deasserted (its pull).
func (p *Platform) release(r *request) {
	if r.closed.Swap(true) {
		return
	}
	ln := r.line
	if ln.owner == r {
		ln.owner = nil
		if ln.dir == lineOutput {
			ln.value = false
			p.updateHost(ln.host)
		}
	}
}

// Close releases every line requested through the handle and stops its
// edge delivery; edges not yet delivered are dropped. A callback already
// running may finish after Close returns.
func (c *gpioChip) Close() error {
	p := c.p
	p.mu.Lock()
	p.syncLocked()
	c.closed = true
	for _, r := range c.reqs {
		p.release(r)
	}
	c.reqs = nil
	for i, x := range p.chips {
		if x == c {
			p.chips = append(p.chips[:i:i], p.chips[i+1:]...)
			break
		}
	}
	p.unlock()
	c.stopOnce.Do(func() { close(c.stop) })
	return nil
}

// begin checks a line operation's context and handle, then takes the model
// lock; the caller must p.unlock.
func (r *request) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return deviceErr(r.line.name, op, adapters.NoCmd, err)
	}
	p := r.chip.p
	p.lock()
	if r.closed.Load() || p.closed {
		p.unlock()
		return deviceErr(r.line.name, op, adapters.NoCmd, adapters.ErrClosed)
	}
	return nil
}

func (r *request) read(ctx context.Context) (bool, error) {
	if err := r.begin(ctx, "read line"); err != nil {
		return false, err
	}
	defer r.chip.p.unlock()
	return r.line.value != r.invert, nil
}

func (r *request) close() error {
	p := r.chip.p
	p.lock()
	defer p.unlock()
	p.release(r)
	return nil
}

type outputLine struct{ r *request }

// Set drives the line asserted or deasserted in the consumer's polarity.
func (o *outputLine) Set(ctx context.Context, asserted bool) error {
	if err := o.r.begin(ctx, "set line"); err != nil {
		return err
	}
	defer o.r.chip.p.unlock()
	o.r.chip.p.drive(o.r, asserted)
	return nil
}

func (p *Platform) drive(r *request, asserted bool) {
	r.line.value = asserted != r.invert
	p.updateHost(r.line.host)
}

// Pulse asserts the line, waits d on the platform's clock and deasserts
// it; on ctx's end it deasserts at once and returns ctx's error.
func (o *outputLine) Pulse(ctx context.Context, d time.Duration) error {
	const op = "pulse line"
	r := o.r
	if d <= 0 {
		return deviceErr(r.line.name, op, adapters.NoCmd, fmt.Errorf("pulse of %v: %w", d, ErrInvalidArgument))
	}
	if err := o.Set(ctx, true); err != nil {
		return err
	}
	p := r.chip.p
	t := p.clk.NewTimer(d)
	defer t.Stop()
	var werr error
	select {
	case <-t.C():
	case <-ctx.Done():
		werr = deviceErr(r.line.name, op, adapters.NoCmd, ctx.Err())
	case <-p.done:
		werr = deviceErr(r.line.name, op, adapters.NoCmd, adapters.ErrClosed)
	}
	if err := o.Set(context.Background(), false); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// Read returns the level last driven, in the consumer's polarity.
func (o *outputLine) Read(ctx context.Context) (bool, error) { return o.r.read(ctx) }

// Close releases the line, which returns to deasserted.
func (o *outputLine) Close() error { return o.r.close() }

type inputLine struct{ r *request }

// Read returns the line's level in the consumer's polarity.
func (i *inputLine) Read(ctx context.Context) (bool, error) { return i.r.read(ctx) }

// Close releases the line; its callback receives no further edges.
func (i *inputLine) Close() error { return i.r.close() }
