package leds

import (
	"context"
	"sync"

	"github.com/statemgr/statemgr/adapters/platform"
)

// Panel is the simulated board's LEDs, and the fault-injecting twin of
// Hardware: it remembers what each LED shows, by its wiring
// (platform.LED.Where), and fails the opens and writes a test asks it to.
type Panel struct {
	mu       sync.Mutex
	shows    map[string]Pattern
	failOpen map[string]error
	failSet  map[string]error
	writes   int
}

// NewPanel returns a panel with every LED off.
func NewPanel() *Panel {
	return &Panel{shows: map[string]Pattern{}, failOpen: map[string]error{}, failSet: map[string]error{}}
}

// Open opens led on the panel, or fails with the error FailOpen set.
func (p *Panel) Open(led platform.LED) (Writer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	where := led.Where()
	if err := p.failOpen[where]; err != nil {
		return nil, err
	}
	if _, ok := p.shows[where]; !ok {
		p.shows[where] = Off
	}
	return panelLED{p: p, where: where}, nil
}

// FailOpen makes opening the LED wired at where fail with err (nil: succeed).
func (p *Panel) FailOpen(where string, err error) { p.set(p.failOpen, where, err) }

// FailSet makes every write to the LED wired at where fail with err until
// it is called again with nil; the LED keeps what it showed.
func (p *Panel) FailSet(where string, err error) { p.set(p.failSet, where, err) }

func (p *Panel) set(m map[string]error, where string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		delete(m, where)
	} else {
		m[where] = err
	}
}

// Shows returns what the LED wired at where shows ("" if never opened).
func (p *Panel) Shows(where string) Pattern {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shows[where]
}

// Writes counts the successful writes, for tests that an unchanged
// pattern is not written again.
func (p *Panel) Writes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes
}

type panelLED struct {
	p     *Panel
	where string
}

func (l panelLED) Set(_ context.Context, pat Pattern) error {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if err := l.p.failSet[l.where]; err != nil {
		return err
	}
	l.p.shows[l.where] = pat
	l.p.writes++
	return nil
}

func (panelLED) Close() error { return nil }
