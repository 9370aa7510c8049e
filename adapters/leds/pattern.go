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
	Faulty   bool              // a covered component is in an Error state or has a standing alert
	Identify bool              // an operator identifies the location
	LampTest bool              // a lamp test is running
}

// Derive returns the pattern an LED of kind shows given f. A lamp test
// lights every LED. Power is off in Off, Stopped and Error states (the
// power is not known to be on), blinking while transitioning, on
// otherwise; fault is on while anything covered is faulty; identify
// blinks while identified (Redfish LocationIndicatorActive).
func Derive(kind platform.LEDKind, f Facts) Pattern {
	if f.LampTest {
		return On
	}
	switch kind {
	case platform.LEDPower:
		switch {
		case f.Kind == machine.Transitional:
			return Blink
		case f.Kind == machine.ErrorKind, f.State == machine.StateOff, f.State == machine.StateStopped, f.State == "":
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
