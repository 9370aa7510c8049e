package simhw

import (
	"fmt"
	"time"
)

// HostPower is a host's power state in the model.
type HostPower int

// Host power states.
const (
	PowerOff          HostPower = iota // no power good
	PowerPoweringOn                    // button pressed, waiting for power good
	PowerOn                            // power good (booting until POST complete)
	PowerShuttingDown                  // power good, OS shutting down gracefully
)

func (s HostPower) String() string {
	switch s {
	case PowerOff:
		return "off"
	case PowerPoweringOn:
		return "powering-on"
	case PowerOn:
		return "on"
	case PowerShuttingDown:
		return "shutting-down"
	}
	return fmt.Sprintf("host-power(%d)", int(s))
}

// HostState is the ground truth about one host.
type HostState struct {
	ID           string
	Power        HostPower
	PowerGood    bool // PS_PWROK asserted
	PostComplete bool // POST_COMPLETE asserted
	InReset      bool // held in reset by RESET_OUT
	// ButtonAsserted reports whether the host sees its power button
	// pressed (POWER_OUT asserted, the front panel pressed, or stuck).
	ButtonAsserted bool
	NMIs           int // NMI pulses received while powered
	Resets         int // completed reset pulses while powered
	// IgnoredShutdowns counts short presses the OS ignored
	// (HostIgnoresShutdown).
	IgnoredShutdowns int
}

type host struct {
	cfg HostConfig

	powerOut, resetOut, nmiOut         *line // driven by statemgr
	powerOK, postComplete, powerButton *line // driven by the model

	state      HostPower
	post       bool
	inReset    bool
	frontPanel bool // a person is pressing the front-panel button

	// Levels last acted upon, to see edges of the host's inputs.
	button, reset, nmi bool
	pressStart         time.Time

	holdEv, powerOnEv, bootEv, shutdownEv, dropEv *event

	nmis, resets, ignoredShutdowns int
}

func (h *host) powered() bool { return h.state == PowerOn || h.state == PowerShuttingDown }

// Host returns the ground truth about host id.
func (p *Platform) Host(id string) (HostState, error) {
	p.lock()
	defer p.unlock()
	h := p.host(id)
	if h == nil {
		return HostState{}, unknown("host", id)
	}
	return HostState{
		ID:               id,
		Power:            h.state,
		PowerGood:        h.powered(),
		PostComplete:     h.post,
		InReset:          h.inReset,
		ButtonAsserted:   p.buttonLevel(h),
		NMIs:             h.nmis,
		Resets:           h.resets,
		IgnoredShutdowns: h.ignoredShutdowns,
	}, nil
}

// HostPowered reports whether host id has power good; false for an unknown
// host.
func (p *Platform) HostPowered(id string) bool {
	p.lock()
	defer p.unlock()
	h := p.host(id)
	return h != nil && h.powered()
}

// PressPowerButton presses host's front-panel power button for d, as a
// person would: the POWER_BUTTON input shows the press (edges to whoever
// watches it) and the host acts on it exactly as on a POWER_OUT pulse. The
// call returns at once; the release happens when the clock reaches now+d.
func (p *Platform) PressPowerButton(id string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("press of %v: %w", d, ErrInvalidArgument)
	}
	p.lock()
	defer p.unlock()
	h := p.host(id)
	if h == nil {
		return unknown("host", id)
	}
	if h.frontPanel {
		return fmt.Errorf("host %s: %w", id, ErrButtonPressed)
	}
	h.frontPanel = true
	p.updateHost(h)
	// Scheduled after the force-off check that updateHost armed, so that a
	// press of exactly ForceOffHold counts as a hold.
	p.after(d, func() {
		h.frontPanel = false
		p.updateHost(h)
	})
	return nil
}

// buttonLevel is the power button as the host sees it.
func (p *Platform) buttonLevel(h *host) bool {
	switch {
	case p.has(ButtonStuckAsserted, h.cfg.ID):
		return true
	case p.has(ButtonStuckDeasserted, h.cfg.ID):
		return false
	}
	return h.powerOut.value || h.frontPanel
}

// frontPanelLevel is the POWER_BUTTON input: the front-panel button net.
func (p *Platform) frontPanelLevel(h *host) bool {
	switch {
	case p.has(ButtonStuckAsserted, h.cfg.ID):
		return true
	case p.has(ButtonStuckDeasserted, h.cfg.ID):
		return false
	}
	return h.frontPanel
}

// updateHost reacts to changes of the host's output lines and buttons, then
// publishes its input lines. Call it after anything that may change them.
func (p *Platform) updateHost(h *host) {
	if b := p.buttonLevel(h); b != h.button {
		h.button = b
		if b {
			h.pressStart = p.at
			h.holdEv = p.after(p.cfg.ForceOffHold, func() {
				h.holdEv = nil
				if h.state != PowerOff {
					p.hostOff(h)
				}
			})
		} else {
			p.cancel(h.holdEv)
			h.holdEv = nil
			p.buttonReleased(h, p.at.Sub(h.pressStart))
		}
	}
	if r := h.resetOut.value; r != h.reset {
		h.reset = r
		if r {
			p.resetAsserted(h)
		} else {
			p.resetReleased(h)
		}
	}
	if n := h.nmiOut.value; n != h.nmi {
		h.nmi = n
		if n && h.powered() {
			h.nmis++
		}
	}
	p.publishHost(h)
}

// buttonReleased acts on a power-button press of duration d: bounce is
// ignored, a hold of ForceOffHold or more already acted when it reached
// ForceOffHold, and a short press turns an off host on (with chassis power)
// or asks a running OS to shut down.
func (p *Platform) buttonReleased(h *host, d time.Duration) {
	if d < p.cfg.MinPress || d >= p.cfg.ForceOffHold {
		return
	}
	switch h.state {
	case PowerOff:
		if !p.chassisGood {
			return
		}
		h.state = PowerPoweringOn
		h.powerOnEv = p.after(h.cfg.PowerOnDelay, func() {
			h.powerOnEv = nil
			p.powerOnDone(h)
		})
	case PowerOn:
		if p.has(HostIgnoresShutdown, h.cfg.ID) {
			h.ignoredShutdowns++
			return
		}
		h.state = PowerShuttingDown
		h.shutdownEv = p.after(h.cfg.ShutdownDelay, func() {
			h.shutdownEv = nil
			p.hostOff(h)
		})
	}
}

// powerOnDone is the end of the power-on delay: power good rises, unless
// chassis power went away or the host's power good never rises.
func (p *Platform) powerOnDone(h *host) {
	if !p.chassisGood || p.has(HostPowerGoodNeverRises, h.cfg.ID) {
		h.state = PowerOff
		return
	}
	p.setHostPower(h, PowerOn)
	h.post = false
	if h.reset {
		h.inReset = true
	} else {
		p.startBoot(h)
	}
	if f, ok := p.faults[faultKey{HostPowerGoodDrops, h.cfg.ID}]; ok {
		p.scheduleDrop(h, f.After)
	}
	p.publishHost(h)
}

func (p *Platform) startBoot(h *host) {
	p.cancel(h.bootEv)
	h.bootEv = p.after(h.cfg.BootDelay, func() {
		h.bootEv = nil
		h.post = true
		p.publishHost(h)
	})
}

func (p *Platform) scheduleDrop(h *host, after time.Duration) {
	p.cancel(h.dropEv)
	h.dropEv = p.after(after, func() {
		h.dropEv = nil
		p.hostOff(h)
	})
}

// resetAsserted holds a powered host in reset: POST complete drops and a
// graceful shutdown in progress is abandoned.
func (p *Platform) resetAsserted(h *host) {
	if !h.powered() {
		return
	}
	h.inReset = true
	h.post = false
	p.cancel(h.bootEv)
	h.bootEv = nil
	p.cancel(h.shutdownEv)
	h.shutdownEv = nil
	h.state = PowerOn
}

// resetReleased lets a host out of reset: it boots again.
func (p *Platform) resetReleased(h *host) {
	if !h.inReset {
		return
	}
	h.inReset = false
	h.resets++
	p.startBoot(h)
}

// hostOff removes a host's power at once.
func (p *Platform) hostOff(h *host) {
	for _, ev := range []*event{h.powerOnEv, h.bootEv, h.shutdownEv, h.dropEv} {
		p.cancel(ev)
	}
	h.powerOnEv, h.bootEv, h.shutdownEv, h.dropEv = nil, nil, nil, nil
	p.setHostPower(h, PowerOff)
	h.post = false
	h.inReset = false
	p.publishHost(h)
}

// setHostPower changes a host's state, keeping the thermal model and the
// PSU load in step when its power good changes.
func (p *Platform) setHostPower(h *host, s HostPower) {
	was := h.powered()
	if was == (s == PowerOn || s == PowerShuttingDown) {
		h.state = s
		return
	}
	p.anchorZones()
	h.state = s
	p.loadChanged()
}

// publishHost drives the host's input lines from the model, in a fixed
// order: POWER_BUTTON, POST_COMPLETE, PS_PWROK.
func (p *Platform) publishHost(h *host) {
	p.setInput(h.powerButton, p.frontPanelLevel(h))
	p.setInput(h.postComplete, h.post)
	p.setInput(h.powerOK, h.powered())
}
