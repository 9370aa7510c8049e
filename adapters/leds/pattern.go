package leds

import (
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
)

// Pattern is what an LED shows.
type Pattern string

// The patterns.
const (
	Off   Pattern = "off"
	On    Pattern = "on"
	Blink Pattern = "blinking" // 500 ms on, 500 ms off
)

// BlinkHalfPeriod is how long a blinking LED stays on, then off.
const BlinkHalfPeriod = 500 // milliseconds

// Facts are what a location's LEDs are derived from: its own state and
// whether anything its fault LED covers is faulty.
type Facts struct {
	State    string            // the location's state ("On", "TransitioningToOff")
	Kind     machine.StateKind // its kind
	Power    machine.Power     // what power good reads in it (hosts and chassis; "" for others)
	Faulty   bool              // a covered component is in an Error state or has a standing alert
	Identify bool              // an operator identifies the location
	LampTest bool              // a lamp test is running
}

// Derive returns the pattern an LED of kind shows given f. A lamp test
// lights every LED. Power blinks while transitioning; it is off in Error
// states, in a host's or chassis' state whose power is not on (off, or
// any: the power is not known to be on), in a service's Stopped and when
// the state is unknown; on otherwise. Fault is on while anything covered
// is faulty; identify blinks while identified (Redfish
// LocationIndicatorActive).
func Derive(kind platform.LEDKind, f Facts) Pattern {
	if f.LampTest {
		return On
	}
	switch kind {
	case platform.LEDPower:
		switch {
		case f.Kind == machine.Transitional:
			return Blink
		case f.Kind == machine.ErrorKind, f.Power != "" && f.Power != machine.PowerOn, f.State == "":
			return Off
		case f.Power == "" && f.State == machine.StateStopped:
			// Kept by name: a service has no power good (no Power).
			return Off
		}
		return On
	case platform.LEDFault:
		if f.Faulty {
			return On
		}
	case platform.LEDIdentify:
		if f.Identify {
			return Blink
		}
	}
	return Off
}
