package leds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
)

// Stream is the event-log stream of identify records: an identify that
// was turned on, with or without an end, outlives a restart.
const Stream = "leds"

// EventIdentify is the type of an identify record.
const EventIdentify = "identify"

const identifySchema = 1

// Limits of the requests.
const (
	MaxIdentify     = 24 * time.Hour
	DefaultLampTest = 10 * time.Second
	MaxLampTest     = 5 * time.Minute
)

// Errors of the requests and of New.
var (
	ErrNoIdentifyLED = errors.New("the location has no identify LED: add led \"identify\" to its block in the platform file")
	ErrBadDuration   = errors.New("duration out of range")
	ErrClosed        = errors.New("the LED controller is closed")
	ErrOpen          = errors.New("cannot open an LED")
)

// Config configures a Controller.
type Config struct {
	Locations []platform.LEDLocation
	Board     Board
	Log       events.Log // where identify records are kept
	Clock     clock.Clock
	Logger    hclog.Logger // nil: silent
}

// Controller drives the platform's LEDs from the components' durable
// states (Observe), identify requests and lamp tests. One goroutine writes
// the LEDs, so an observer never waits on a slow LED.
type Controller struct {
	cfg  Config
	log  hclog.Logger
	locs []*location
	byID map[actors.ID]*location

	appendMu sync.Mutex // serialises appends to Stream
	version  uint64     // Stream's head; under appendMu

	mu        sync.Mutex
	comps     map[actors.ID]observed
	lampUntil time.Time
	closed    bool

	wake chan struct{}
	sync chan chan struct{}
	quit chan struct{}
	done chan struct{}
}

type location struct {
	id       actors.ID
	leds     []*led
	covers   []actors.ID
	identify bool      // under Controller.mu
	until    time.Time // zero: until turned off
}

type led struct {
	cfg   platform.LED
	w     Writer
	shows Pattern // what it was last set to; under Controller.mu
	err   error   // the last write's failure
}

type observed struct {
	state  string
	kind   machine.StateKind
	power  machine.Power
	alerts int
}

type identifyRecord struct {
	Location actors.ID  `json:"location"`
	Active   bool       `json:"active"`
	Until    *time.Time `json:"until,omitempty"`
}

// New opens every LED, recovers the identify state from the log (ending
// any whose time has passed) and starts the writer. An LED that cannot be
// opened fails New with an error naming it.
func New(ctx context.Context, cfg Config) (*Controller, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	c := &Controller{cfg: cfg, log: cfg.Logger, byID: map[actors.ID]*location{}, comps: map[actors.ID]observed{},
		wake: make(chan struct{}, 1), sync: make(chan chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	for _, l := range cfg.Locations {
		loc := &location{id: l.ID, covers: l.Covers}
		for _, pl := range l.LEDs {
			w, err := cfg.Board.Open(pl)
			if err != nil {
				c.closeWriters()
				return nil, fmt.Errorf("%w: %s led %s (%s): %w", ErrOpen, l.ID, pl.Kind, pl.Where(), err)
			}
			loc.leds = append(loc.leds, &led{cfg: pl, w: w})
		}
		c.locs = append(c.locs, loc)
		c.byID[l.ID] = loc
	}
	if err := c.recover(ctx); err != nil {
		c.closeWriters()
		return nil, err
	}
	go c.run()
	return c, nil
}

func (c *Controller) recover(ctx context.Context) error {
	evs, err := c.cfg.Log.ReadStream(ctx, Stream, 1, 0)
	if err != nil {
		return fmt.Errorf("cannot read the identify records: %w", err)
	}
	for _, e := range evs {
		c.version = e.StreamSeq
		if e.Type != EventIdentify {
			continue
		}
		var r identifyRecord
		if err := json.Unmarshal(e.Payload, &r); err != nil {
			return fmt.Errorf("cannot decode identify record %d: %w", e.StreamSeq, err)
		}
		loc := c.byID[r.Location]
		if loc == nil {
			c.log.Warn("identify record of a location the platform file no longer has; ignored", "location", r.Location, "seq", e.StreamSeq)
			continue
		}
		loc.identify, loc.until = r.Active, time.Time{}
		if r.Until != nil {
			loc.until = *r.Until
		}
	}
	return nil
}

// Observe hears a component's durable state, its kind, what power good
// reads in it (State.Power) and its number of standing alerts. It never
// blocks on an LED.
func (c *Controller) Observe(id actors.ID, state string, kind machine.StateKind, power machine.Power, alerts int) {
	now := observed{state: state, kind: kind, power: power, alerts: alerts}
	c.mu.Lock()
	changed := c.comps[id] != now
	c.comps[id] = now
	c.mu.Unlock()
	if changed {
		c.poke()
	}
}

func (c *Controller) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Sync returns once every change observed or requested before it is on
// the LEDs (or failed), and identifies and lamp tests whose time has come
// on the clock have ended.
func (c *Controller) Sync(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case c.sync <- ack:
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Identify turns the location's identify on (for d, or until turned off
// when d is 0) or off, as Redfish's LocationIndicatorActive. The change
// is in the log before the LED shows it; it returns once the LED does.
func (c *Controller) Identify(ctx context.Context, id actors.ID, active bool, d time.Duration, requester string) (LocationView, error) {
	loc := c.byID[id]
	if loc == nil || !slices.ContainsFunc(loc.leds, func(l *led) bool { return l.cfg.Kind == platform.LEDIdentify }) {
		return LocationView{}, fmt.Errorf("%s: %w", id, ErrNoIdentifyLED)
	}
	if d < 0 || d > MaxIdentify || (!active && d != 0) {
		return LocationView{}, fmt.Errorf("%w: identify for %v: give 0 (until turned off) up to %v, and no duration to turn it off", ErrBadDuration, d, MaxIdentify)
	}
	r := identifyRecord{Location: id, Active: active}
	cause := "identify off"
	if active {
		cause = "identify on"
		if d > 0 {
			until := c.cfg.Clock.Now().Add(d)
			r.Until = &until
			cause = fmt.Sprintf("identify on for %v", d)
		}
	}
	if err := c.record(ctx, r, cause, requester); err != nil {
		return LocationView{}, err
	}
	c.mu.Lock()
	loc.identify, loc.until = active, time.Time{}
	if r.Until != nil {
		loc.until = *r.Until
	}
	c.mu.Unlock()
	c.log.Info("identify", "location", id, "active", active, "for", d, "requester", requester)
	c.poke()
	if err := c.Sync(ctx); err != nil {
		return LocationView{}, err
	}
	return c.view(loc), nil
}

// record appends an identify record.
func (c *Controller) record(ctx context.Context, r identifyRecord, cause, requester string) error {
	payload, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("cannot encode the identify record: %w", err)
	}
	c.appendMu.Lock()
	defer c.appendMu.Unlock()
	stored, _, err := c.cfg.Log.Append(ctx, Stream, events.ExpectVersion(c.version), []events.Event{{
		Type: EventIdentify, Schema: identifySchema, Time: c.cfg.Clock.Now(), Cause: cause, Requester: requester, Payload: payload,
	}})
	if err != nil {
		return fmt.Errorf("cannot record the identify of %s: %w", r.Location, err)
	}
	c.version = stored[len(stored)-1].StreamSeq
	return nil
}

// LampTest lights every LED for d (0: DefaultLampTest), then gives each
// back its pattern. It returns once the LEDs are lit.
func (c *Controller) LampTest(ctx context.Context, d time.Duration) (time.Time, error) {
	if d == 0 {
		d = DefaultLampTest
	}
	if d < 0 || d > MaxLampTest {
		return time.Time{}, fmt.Errorf("%w: lamp test for %v: give up to %v", ErrBadDuration, d, MaxLampTest)
	}
	until := c.cfg.Clock.Now().Add(d)
	c.mu.Lock()
	c.lampUntil = until
	c.mu.Unlock()
	c.log.Info("lamp test", "for", d)
	c.poke()
	return until, c.Sync(ctx)
}

// Close stops the writer and releases the LEDs, which keep what they show.
func (c *Controller) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.quit)
	<-c.done
	return c.closeWriters()
}

func (c *Controller) closeWriters() error {
	var errs []error
	for _, loc := range c.locs {
		for _, l := range loc.leds {
			errs = append(errs, l.w.Close())
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) run() {
	defer close(c.done)
	var acks []chan struct{}
	for {
		c.expire()
		c.apply()
		for _, a := range acks {
			close(a)
		}
		acks = acks[:0]
		var timer clock.Timer
		var fire <-chan time.Time
		if at, ok := c.nextDeadline(); ok {
			timer = c.cfg.Clock.NewTimer(at.Sub(c.cfg.Clock.Now()))
			fire = timer.C()
		}
		select {
		case <-c.wake:
		case <-fire:
		case a := <-c.sync:
			acks = append(acks, a)
		case <-c.quit:
			if timer != nil {
				timer.Stop()
			}
			return
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// nextDeadline is the earliest end of a timed identify or lamp test.
func (c *Controller) nextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	consider(c.lampUntil)
	for _, loc := range c.locs {
		if loc.identify {
			consider(loc.until)
		}
	}
	return at, !at.IsZero()
}

// expire ends the lamp test and the timed identifies whose time has come,
// recording each identify's end before its LED goes off.
func (c *Controller) expire() {
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	if !c.lampUntil.IsZero() && !now.Before(c.lampUntil) {
		c.lampUntil = time.Time{}
		c.log.Info("lamp test ended")
	}
	var due []*location
	for _, loc := range c.locs {
		if loc.identify && !loc.until.IsZero() && !now.Before(loc.until) {
			due = append(due, loc)
		}
	}
	c.mu.Unlock()
	for _, loc := range due {
		if err := c.record(context.Background(), identifyRecord{Location: loc.id}, "identify timed out", ""); err != nil {
			// The time is up either way; a restart ends it again.
			c.log.Error("cannot record the end of a timed identify; turning it off all the same", "location", loc.id, "error", err)
		}
		c.mu.Lock()
		loc.identify, loc.until = false, time.Time{}
		c.mu.Unlock()
		c.log.Info("identify timed out", "location", loc.id)
	}
}

// facts returns what loc's patterns derive from; under c.mu.
func (c *Controller) facts(loc *location) Facts {
	own := c.comps[loc.id]
	f := Facts{State: own.state, Kind: own.kind, Power: own.power, Identify: loc.identify, LampTest: !c.lampUntil.IsZero()}
	for _, id := range loc.covers {
		if o := c.comps[id]; o.kind == machine.ErrorKind || o.alerts > 0 {
			f.Faulty = true
		}
	}
	return f
}

type pending struct {
	led  *led
	want Pattern
	why  Facts
	loc  actors.ID
}

// apply writes every LED whose pattern differs from what it shows, or
// whose last write failed.
func (c *Controller) apply() {
	var todo []pending
	c.mu.Lock()
	for _, loc := range c.locs {
		f := c.facts(loc)
		for _, l := range loc.leds {
			if want := Derive(l.cfg.Kind, f); want != l.shows || l.err != nil {
				todo = append(todo, pending{led: l, want: want, why: f, loc: loc.id})
			}
		}
	}
	c.mu.Unlock()
	for _, p := range todo {
		err := p.led.w.Set(context.Background(), p.want)
		c.mu.Lock()
		from, prevErr := p.led.shows, p.led.err
		p.led.err = err
		if err == nil {
			p.led.shows = p.want
		}
		c.mu.Unlock()
		switch {
		case err != nil && (prevErr == nil || prevErr.Error() != err.Error()):
			c.log.Error("cannot set an LED; retrying at the next change", "location", p.loc, "led", p.led.cfg.Kind, "wiring", p.led.cfg.Where(), "pattern", p.want, "error", err)
		case err == nil && from != p.want:
			c.log.Info("LED changed", "location", p.loc, "led", p.led.cfg.Kind, "wiring", p.led.cfg.Where(), "from", from, "to", p.want, "because", p.why.String())
		}
	}
}

// String says what the facts are, for the log.
func (f Facts) String() string {
	parts := []string{"state " + f.State}
	if f.Faulty {
		parts = append(parts, "faulty")
	}
	if f.Identify {
		parts = append(parts, "identified")
	}
	if f.LampTest {
		parts = append(parts, "lamp test")
	}
	return strings.Join(parts, ", ")
}

// LEDView is one LED as reported.
type LEDView struct {
	Kind   platform.LEDKind `json:"kind"`
	Wiring string           `json:"wiring"`
	Shows  Pattern          `json:"shows"`
	Error  string           `json:"error,omitempty"` // the last write's failure
}

// LocationView is a location's LEDs and identify state.
type LocationView struct {
	ID actors.ID `json:"id"`
	// Identify is Redfish's LocationIndicatorActive.
	Identify      bool       `json:"identify"`
	IdentifyUntil *time.Time `json:"identify_until,omitempty"`
	LEDs          []LEDView  `json:"leds"`
}

// View is every location's LEDs, and the end of a running lamp test.
type View struct {
	Locations     []LocationView `json:"locations"`
	LampTestUntil *time.Time     `json:"lamp_test_until,omitempty"`
}

// View reports every location.
func (c *Controller) View() View {
	var v View
	for _, loc := range c.locs {
		v.Locations = append(v.Locations, c.view(loc))
	}
	c.mu.Lock()
	if !c.lampUntil.IsZero() {
		t := c.lampUntil
		v.LampTestUntil = &t
	}
	c.mu.Unlock()
	return v
}

func (c *Controller) view(loc *location) LocationView {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := LocationView{ID: loc.id, Identify: loc.identify, LEDs: []LEDView{}}
	if loc.identify && !loc.until.IsZero() {
		t := loc.until
		v.IdentifyUntil = &t
	}
	for _, l := range loc.leds {
		lv := LEDView{Kind: l.cfg.Kind, Wiring: l.cfg.Where(), Shows: l.shows}
		if lv.Shows == "" {
			lv.Shows = Off
		}
		if l.err != nil {
			lv.Error = l.err.Error()
		}
		v.LEDs = append(v.LEDs, lv)
	}
	return v
}
