package simhw

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
)

// Platform is the simulated board: a chassis with PMBus PSUs, hosts behind
// GPIO power-control lines, and thermal zones. It is safe for concurrent
// use. See the package documentation for its determinism contract.
type Platform struct {
	clk clock.Clock
	cfg Config

	mu sync.Mutex
	// at is the model's time: the deadline of the event being processed,
	// otherwise the clock reading of the last catch-up. It never moves back.
	at      time.Time
	queue   eventQueue
	seq     uint64
	armed   clock.Timer // fires at armedAt, the earliest pending deadline
	armedAt time.Time
	closed  bool

	psus        []*psu
	hosts       []*host
	zones       []*zone
	lines       map[string]*line
	chips       []*gpioChip
	chassisGood bool
	faults      map[faultKey]Fault

	rearm chan struct{} // tells the waker that armed changed
	done  chan struct{} // closed by Close
	wg    sync.WaitGroup
}

// New returns a simulated platform described by cfg (zero values take the
// defaults of DefaultConfig) whose time is clk. Close it when done.
func New(clk clock.Clock, cfg Config) (*Platform, error) {
	if clk == nil {
		return nil, fmt.Errorf("nil clock: %w", ErrInvalidConfig)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Platform{
		clk:    clk,
		cfg:    cfg,
		at:     clk.Now(),
		lines:  map[string]*line{},
		faults: map[faultKey]Fault{},
		rearm:  make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	for _, c := range cfg.PSUs {
		ps := &psu{cfg: c, onOffConfig: defaultOnOffConfig}
		if c.InitiallyOn {
			ps.operation = adapters.OperationOn
			ps.out = outOn
		}
		p.psus = append(p.psus, ps)
	}
	for _, c := range cfg.Hosts {
		h := &host{cfg: c}
		h.powerOut = p.addLine(c.Lines.PowerOut, lineOutput, h)
		h.resetOut = p.addLine(c.Lines.ResetOut, lineOutput, h)
		h.nmiOut = p.addLine(c.Lines.NMIOut, lineOutput, h)
		h.powerOK = p.addLine(c.Lines.PowerOK, lineInput, h)
		h.postComplete = p.addLine(c.Lines.PostComplete, lineInput, h)
		h.powerButton = p.addLine(c.Lines.PowerButton, lineInput, h)
		p.hosts = append(p.hosts, h)
	}
	for _, c := range cfg.Zones {
		z := &zone{cfg: c, t0: p.at, temp0: c.AmbientC}
		for _, id := range c.Hosts {
			z.hosts = append(z.hosts, p.host(id))
		}
		p.zones = append(p.zones, z)
	}
	p.mu.Lock()
	p.psuChanged()
	p.mu.Unlock()
	p.wg.Add(1)
	go p.wake()
	return p, nil
}

// Config returns the platform's configuration, defaults filled in.
func (p *Platform) Config() Config {
	cfg := p.cfg
	cfg.PSUs = append([]PSUConfig(nil), cfg.PSUs...)
	cfg.Hosts = append([]HostConfig(nil), cfg.Hosts...)
	cfg.Zones = make([]ZoneConfig, len(p.cfg.Zones))
	for i, z := range p.cfg.Zones {
		z.Hosts = append([]string(nil), z.Hosts...)
		cfg.Zones[i] = z
	}
	return cfg
}

// Close stops the platform's goroutines and releases every GPIO line;
// adapter handles fail with adapters.ErrClosed afterwards, while the
// ground-truth accessors keep answering. Close must not be called from an
// edge callback (it waits for the delivery goroutines).
func (p *Platform) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.syncLocked()
	p.closed = true
	if p.armed != nil {
		p.armed.Stop()
		p.armed = nil
	}
	chips := p.chips
	p.mu.Unlock()
	for _, c := range chips {
		_ = c.Close()
	}
	close(p.done)
	p.wg.Wait()
	return nil
}

// Settle catches the model up with the clock and waits until every edge
// produced so far has been handed to its callback and the callback has
// returned. Use it after moving a virtual clock, before looking at what
// the callbacks recorded. It must not be called from an edge callback.
func (p *Platform) Settle(ctx context.Context) error {
	// Callbacks may drive lines and so queue edges on other handles:
	// repeat until one pass finds every handle idle.
	for {
		p.mu.Lock()
		p.syncLocked()
		chips := append([]*gpioChip(nil), p.chips...)
		p.mu.Unlock()
		waited := false
		for _, c := range chips {
			w, err := c.waitIdle(ctx)
			if err != nil {
				return fmt.Errorf("cannot settle the simulated platform: %w", err)
			}
			waited = waited || w
		}
		if !waited {
			return nil
		}
	}
}

// lock takes the model lock and catches the model up with the clock.
func (p *Platform) lock() {
	p.mu.Lock()
	p.syncLocked()
}

// unlock processes what the call made due, re-arms the wake-up timer and
// releases the model lock.
func (p *Platform) unlock() {
	p.syncLocked()
	p.mu.Unlock()
}

// syncLocked processes, in deadline order (ties in scheduling order), every
// event due at the clock's current reading, then arms the wake-up timer for
// the next one.
func (p *Platform) syncLocked() {
	now := p.clk.Now()
	for len(p.queue) > 0 && !p.queue[0].at.After(now) {
		ev := heap.Pop(&p.queue).(*event)
		if ev.at.After(p.at) {
			p.at = ev.at
		}
		ev.fire()
	}
	if now.After(p.at) {
		p.at = now
	}
	p.armLocked()
}

// armLocked keeps one clock timer armed for the earliest pending deadline,
// so that with a virtual clock NextDeadline shows it and moving the clock
// past it wakes the model even when nobody calls in.
func (p *Platform) armLocked() {
	if p.closed {
		return
	}
	if len(p.queue) == 0 {
		if p.armed != nil {
			p.armed.Stop()
			p.armed = nil
		}
		return
	}
	next := p.queue[0].at
	if p.armed != nil && p.armedAt.Equal(next) {
		return
	}
	if p.armed != nil {
		p.armed.Stop()
	}
	p.armed = p.clk.NewTimer(next.Sub(p.clk.Now()))
	p.armedAt = next
	select {
	case p.rearm <- struct{}{}:
	default:
	}
}

// wake is the model's one timer goroutine: when the armed timer fires it
// catches the model up, which delivers the edges that fell due.
func (p *Platform) wake() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		t := p.armed
		p.mu.Unlock()
		var fired <-chan time.Time
		if t != nil {
			fired = t.C()
		}
		select {
		case <-p.done:
			return
		case <-p.rearm:
		case <-fired:
			p.mu.Lock()
			if p.armed == t {
				p.armed = nil
			}
			p.syncLocked()
			p.mu.Unlock()
		}
	}
}

// event is a state change due at a deadline.
type event struct {
	at    time.Time
	seq   uint64
	fire  func()
	index int // in the queue; -1 once popped or cancelled
}

// after schedules fire at model time + d.
func (p *Platform) after(d time.Duration, fire func()) *event {
	p.seq++
	ev := &event{at: p.at.Add(d), seq: p.seq, fire: fire}
	heap.Push(&p.queue, ev)
	return ev
}

// cancel unschedules ev if it is still pending; ev may be nil.
func (p *Platform) cancel(ev *event) {
	if ev != nil && ev.index >= 0 {
		heap.Remove(&p.queue, ev.index)
	}
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *eventQueue) Push(x any) {
	ev := x.(*event)
	ev.index = len(*q)
	*q = append(*q, ev)
}
func (q *eventQueue) Pop() any {
	old := *q
	ev := old[len(old)-1]
	old[len(old)-1] = nil
	ev.index = -1
	*q = old[:len(old)-1]
	return ev
}

// ChassisPowerGood reports whether enough PSUs have power good for the
// chassis to have power (Config.PSUsRequired).
func (p *Platform) ChassisPowerGood() bool {
	p.lock()
	defer p.unlock()
	return p.chassisGood
}

// LoadWatts returns the output power the chassis draws from its PSUs: the
// chassis itself plus every powered host, or 0 without chassis power.
func (p *Platform) LoadWatts() float64 {
	p.lock()
	defer p.unlock()
	return p.loadWatts()
}

func (p *Platform) loadWatts() float64 {
	if !p.chassisGood {
		return 0
	}
	w := p.cfg.ChassisWatts
	for _, h := range p.hosts {
		if h.powered() {
			w += h.cfg.Watts
		}
	}
	return w
}

// psuChanged re-evaluates chassis power after a PSU's output changed: when
// it is lost every host loses power at once. Then it refreshes every PSU's
// status, since the load they share has changed.
func (p *Platform) psuChanged() {
	n := 0
	for _, ps := range p.psus {
		if ps.powerGood() {
			n++
		}
	}
	good := n >= p.cfg.PSUsRequired
	if good != p.chassisGood {
		p.chassisGood = good
		if !good {
			for _, h := range p.hosts {
				if h.state != PowerOff {
					p.hostOff(h)
				}
			}
		}
	}
	p.loadChanged()
}

// loadChanged refreshes the PSUs' latched status against the new load.
func (p *Platform) loadChanged() {
	for _, ps := range p.psus {
		p.refreshPSU(ps)
	}
}

func (p *Platform) host(id string) *host {
	for _, h := range p.hosts {
		if h.cfg.ID == id {
			return h
		}
	}
	return nil
}

func (p *Platform) psu(name string) *psu {
	for _, ps := range p.psus {
		if ps.cfg.Name == name {
			return ps
		}
	}
	return nil
}

func (p *Platform) zone(name string) *zone {
	for _, z := range p.zones {
		if z.cfg.Name == name {
			return z
		}
	}
	return nil
}

func unknown(kind, name string) error {
	return fmt.Errorf("%s %q: %w", kind, name, ErrUnknownTarget)
}

// deviceErr builds the typed error the adapters return.
func deviceErr(device, op string, cmd int, err error) error {
	return &adapters.DeviceError{Device: device, Op: op, Cmd: cmd, Err: err}
}

// sortedFaults returns the active faults ordered by kind, then target.
func (p *Platform) sortedFaults() []Fault {
	out := make([]Fault, 0, len(p.faults))
	for _, f := range p.faults {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Target < out[j].Target
	})
	return out
}
