package gpiocdev

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	lib "github.com/warthog618/go-gpiocdev"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
)

// GPIO requests lines from the GPIO character devices. It implements
// adapters.GPIO and is safe for concurrent use.
type GPIO struct {
	clk      clock.Clock
	consumer string
	dev      cdev

	mu     sync.Mutex
	lines  map[*line]struct{}
	closed bool
}

var _ adapters.GPIO = (*GPIO)(nil)

// New returns a GPIO whose lines carry the consumer label consumer (shown
// by gpioinfo, e.g. "statemgr") and whose pulses and edge times use clk.
func New(clk clock.Clock, consumer string) *GPIO {
	return newGPIO(clk, consumer, kernel{})
}

func newGPIO(clk clock.Clock, consumer string, dev cdev) *GPIO {
	return &GPIO{clk: clk, consumer: consumer, dev: dev, lines: map[*line]struct{}{}}
}

func lineError(name, op string, err error) error {
	return &adapters.DeviceError{Device: name, Op: op, Cmd: adapters.NoCmd, Err: err}
}

// open finds and requests a line and registers it for Close.
func (g *GPIO) open(cfg adapters.LineConfig, output bool, onEdge func(adapters.Edge)) (*line, error) {
	op := "request input line"
	if output {
		op = "request output line"
	}
	var activeLow bool
	switch cfg.Polarity {
	case adapters.ActiveHigh:
	case adapters.ActiveLow:
		activeLow = true
	default:
		return nil, lineError(cfg.Name, op, fmt.Errorf("polarity %q: want %q or %q: %w",
			cfg.Polarity, adapters.ActiveHigh, adapters.ActiveLow, adapters.ErrUnsupported))
	}
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		return nil, lineError(cfg.Name, op, adapters.ErrClosed)
	}
	chip, offset, err := g.find(cfg)
	if err != nil {
		return nil, lineError(cfg.Name, op, err)
	}
	l := &line{g: g, name: cfg.Name}
	r := request{chip: chip, offset: offset, consumer: g.consumer, output: output, activeLow: activeLow}
	if onEdge != nil {
		name := cfg.Name
		r.onEvent = func(ev lib.LineEvent) {
			onEdge(adapters.Edge{Line: name, Asserted: ev.Type == lib.LineEventRisingEdge, Time: g.clk.Now()})
		}
	}
	req, err := g.dev.request(r)
	if err != nil {
		where := fmt.Sprintf("%s (%s offset %d)", op, chip, offset)
		if errors.Is(err, syscall.EBUSY) {
			if who := g.dev.consumer(chip, offset); who != "" {
				return nil, lineError(cfg.Name, where, fmt.Errorf("held by %q: %w", who, libError(err)))
			}
		}
		if errors.Is(err, syscall.EINVAL) {
			// The request itself is well formed, so EINVAL is the pin
			// controller refusing the pin (gpio-aspeed on the AST2600
			// EVB: pinctrl "pin M24 already requested by 1e650010.mdio").
			return nil, lineError(cfg.Name, where, fmt.Errorf("%w (%w)", adapters.ErrLineRefused, err))
		}
		return nil, lineError(cfg.Name, where, libError(err))
	}
	l.req = req
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		_ = req.Close()
		return nil, lineError(cfg.Name, op, adapters.ErrClosed)
	}
	g.lines[l] = struct{}{}
	return l, nil
}

// find returns the chip and offset of cfg's line: by name across every
// chip, or the chip and offset cfg gives.
func (g *GPIO) find(cfg adapters.LineConfig) (string, int, error) {
	if cfg.Chip == "" {
		return g.dev.find(cfg.Name)
	}
	chips, err := g.dev.chips()
	if err != nil {
		return "", 0, err
	}
	chip, err := locate(chips, cfg.Chip, cfg.Offset)
	return chip, cfg.Offset, err
}

// Output requests cfg's line as an output, initially deasserted.
func (g *GPIO) Output(cfg adapters.LineConfig) (adapters.OutputLine, error) {
	l, err := g.open(cfg, true, nil)
	if err != nil {
		return nil, err
	}
	return &outputLine{line: l}, nil
}

// Input requests cfg's line as an input; onEdge, if not nil, receives both
// edges.
func (g *GPIO) Input(cfg adapters.LineConfig, onEdge func(adapters.Edge)) (adapters.InputLine, error) {
	l, err := g.open(cfg, false, onEdge)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Close releases every line requested through g; later requests fail with
// adapters.ErrClosed. It must not be called from an edge callback (the
// library waits for the callback to return).
func (g *GPIO) Close() error {
	g.mu.Lock()
	g.closed = true
	lines := make([]*line, 0, len(g.lines))
	for l := range g.lines {
		lines = append(lines, l)
	}
	g.mu.Unlock()
	var errs []error
	for _, l := range lines {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

// line is one requested line; as an input it is the adapters.InputLine.
type line struct {
	g    *GPIO
	name string
	req  requested

	mu     sync.Mutex
	closed bool
}

func (l *line) Read(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, lineError(l.name, "read", err)
	}
	if l.isClosed() {
		return false, lineError(l.name, "read", adapters.ErrClosed)
	}
	v, err := l.req.Value()
	if err != nil {
		return false, lineError(l.name, "read", libError(err))
	}
	return v == 1, nil
}

func (l *line) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *line) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.g.mu.Lock()
	delete(l.g.lines, l)
	l.g.mu.Unlock()
	if err := l.req.Close(); err != nil {
		return lineError(l.name, "release", libError(err))
	}
	return nil
}

// outputLine drives one line.
type outputLine struct {
	*line
	pulse sync.Mutex // one pulse at a time
}

func (o *outputLine) Set(ctx context.Context, asserted bool) error {
	if err := ctx.Err(); err != nil {
		return lineError(o.name, "set", err)
	}
	return o.set(asserted)
}

func (o *outputLine) set(asserted bool) error {
	v := 0
	if asserted {
		v = 1
	}
	if o.isClosed() {
		return lineError(o.name, fmt.Sprintf("set to %d", v), adapters.ErrClosed)
	}
	if err := o.req.SetValue(v); err != nil {
		return lineError(o.name, fmt.Sprintf("set to %d", v), libError(err))
	}
	return nil
}

// Pulse asserts the line, waits d on the clock, and deasserts it. If ctx
// ends first the line is deasserted at once and ctx's error returned.
func (o *outputLine) Pulse(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return lineError(o.name, "pulse", fmt.Errorf("pulse width %v is not positive", d))
	}
	if err := ctx.Err(); err != nil {
		return lineError(o.name, "pulse", err)
	}
	o.pulse.Lock()
	defer o.pulse.Unlock()
	if err := o.set(true); err != nil {
		return err
	}
	t := o.g.clk.NewTimer(d)
	var cause error
	select {
	case <-t.C():
	case <-ctx.Done():
		t.Stop()
		cause = lineError(o.name, fmt.Sprintf("pulse of %v", d), ctx.Err())
	}
	if err := o.set(false); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}
