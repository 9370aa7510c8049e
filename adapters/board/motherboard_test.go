package board

import (
	"fmt"
	"sync"
	"time"
)

// The pins of the emulated board, as .ci/board names them in the device
// tree and testdata/ast2600-evb.hcl uses them.
const (
	pinPowerOut     = "gpioB0" // POWER_OUT, active low, output
	pinPowerGood    = "gpioB2" // PS_PWROK, active high, input
	pinPostComplete = "gpioB3" // POST_COMPLETE, active low, input
)

// press is one press of the power button as seen on the pin.
type press struct {
	start time.Time
	held  time.Duration
}

// motherboard plays the host's power logic on the GPIO model: a short
// press of the power button powers it on (power good rises after
// powerGoodDelay, then POST completes) or, when on, asks the OS to shut
// down (power good falls after shutdownDelay, unless ignoreGraceful); a
// hold of forceOffAfter powers it off at once. It samples the pin through
// QMP, so a press shorter than the sampling period is missed: the harness
// only drives presses of hundreds of milliseconds.
type motherboard struct {
	q              *qmp
	powerGoodDelay time.Duration
	shutdownDelay  time.Duration
	forceOffAfter  time.Duration

	mu             sync.Mutex
	ignoreGraceful bool
	on             bool
	presses        []press
	edges          int // level changes of POWER_OUT once driven
	err            error
	stop           chan struct{}
	done           chan struct{}
}

func newMotherboard(q *qmp) (*motherboard, error) {
	m := &motherboard{q: q, powerGoodDelay: 500 * time.Millisecond, shutdownDelay: time.Second,
		forceOffAfter: 3 * time.Second, stop: make(chan struct{}), done: make(chan struct{})}
	if err := m.setPower(false); err != nil {
		return nil, err
	}
	go m.watch()
	return m, nil
}

// setPower drives power good and POST complete (active low) together.
func (m *motherboard) setPower(on bool) error {
	if err := m.q.set(gpioPath, pinPowerGood, on); err != nil {
		return err
	}
	return m.q.set(gpioPath, pinPostComplete, !on)
}

func (m *motherboard) watch() {
	defer close(m.done)
	var driven, level bool // POWER_OUT is high once statemgrd drives it deasserted
	var pressedAt time.Time
	var forced bool
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		v, err := m.q.getBool(gpioPath, pinPowerOut)
		if err != nil {
			m.fail(err)
			return
		}
		now := time.Now()
		switch {
		case !driven:
			driven, level = v, v
			continue
		case level && !v: // pressed (active low)
			pressedAt, forced = now, false
			m.count()
		case !level && v: // released
			m.count()
			m.released(press{start: pressedAt, held: now.Sub(pressedAt)}, forced)
		case !v && !forced && now.Sub(pressedAt) >= m.forceOffAfter:
			forced = true
			m.mu.Lock()
			m.on = false
			m.mu.Unlock()
			if err := m.setPower(false); err != nil {
				m.fail(err)
				return
			}
		}
		level = v
	}
}

func (m *motherboard) count() {
	m.mu.Lock()
	m.edges++
	m.mu.Unlock()
}

func (m *motherboard) released(p press, forced bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.presses = append(m.presses, p)
	switch {
	case forced:
	case !m.on:
		m.on = true
		m.later(m.powerGoodDelay, true)
	case !m.ignoreGraceful:
		m.on = false
		m.later(m.shutdownDelay, false)
	}
}

func (m *motherboard) later(d time.Duration, on bool) {
	time.AfterFunc(d, func() {
		if err := m.setPower(on); err != nil {
			m.fail(err)
		}
	})
}

func (m *motherboard) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = fmt.Errorf("motherboard: %w", err)
	}
}

// dropPowerGood is a power failure behind statemgr's back.
func (m *motherboard) dropPowerGood() error {
	m.mu.Lock()
	m.on = false
	m.mu.Unlock()
	return m.setPower(false)
}

func (m *motherboard) setIgnoreGraceful(v bool) {
	m.mu.Lock()
	m.ignoreGraceful = v
	m.mu.Unlock()
}

// seen returns the presses and edges so far and the first error.
func (m *motherboard) seen() ([]press, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]press(nil), m.presses...), m.edges, m.err
}

func (m *motherboard) close() {
	close(m.stop)
	<-m.done
}
