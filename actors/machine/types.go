package machine

import "time"

// StateKind classifies a state for validation and for clients.
type StateKind string

// State kinds. A transitional state must have a timeout or an error exit;
// an error state is where faults land and needs an explicit way out only
// through a reset-like trigger.
const (
	Stable       StateKind = "stable"
	Transitional StateKind = "transitional"
	ErrorKind    StateKind = "error"
)

// Power is what power good reads in a state of a host or chassis machine.
type Power string

// Power values. PowerAny is for states where the hardware alone knows (an
// error state): any reading may be true, so reconciliation always reports
// the one it finds.
const (
	PowerOn  Power = "on"
	PowerOff Power = "off"
	PowerAny Power = "any"
)

// Powers lists the valid Power values, in the order messages show them.
var Powers = []Power{PowerOn, PowerOff, PowerAny}

// Contradicts reports whether power good reading on contradicts a state
// whose power is p: on and off states contradict the other level, an any
// state every level (the hardware alone knows where it stands, so
// reconciliation always reports what it reads), and a state without power
// (of a machine without power good) none.
func (p Power) Contradicts(on bool) bool {
	switch p {
	case PowerOn:
		return !on
	case PowerOff:
		return on
	case PowerAny:
		return true
	}
	return false
}

// PoweredKinds are the machine kinds whose states carry a Power.
var PoweredKinds = []string{KindHost, KindChassis}

// State is one state of a machine, as data.
type State struct {
	Name string
	Kind StateKind
	// Timeout bounds how long the machine may stay in a transitional state;
	// 0 means none. When it passes, the machine moves to TimeoutTo.
	Timeout time.Duration
	// TimeoutTo is the state entered when Timeout passes (usually the
	// machine's error state).
	TimeoutTo string
	// Power is what power good reads while the machine is in the state:
	// required on every host and chassis state, refused on other kinds
	// (a BMC or a service has no power good of its own). Reconciliation,
	// the coordinator and the power LED read it instead of lists of state
	// names, so a platform's added state means the same to all of them.
	Power Power
	// Source says where the state was defined: "" for built-in states,
	// "file.hcl:12,3" for a platform file's, so that reports can point at it.
	Source string
}

// Transition moves the machine from From to To when Trigger arrives and
// every guard holds. Guards and effects are names, resolved by the
// interpreter and checked by the validator, so a platform file can use them
// without code.
type Transition struct {
	From    string
	Trigger string
	To      string
	Guards  []string
	Effects []string
	Source  string // as State.Source
}

// Machine is a declarative state machine: the states, the initial one and
// the transitions between them.
type Machine struct {
	Kind        string // "host", "chassis", "bmc", "service"
	Initial     string
	States      []State
	Transitions []Transition
}

// Extension adds states and transitions to a built-in machine. Platform
// files produce extensions; Extend applies them.
type Extension struct {
	// Machine names what to extend: a kind ("service") for every machine of
	// that kind, or a component id ("service.sync") for one.
	Machine     string
	States      []State
	Transitions []Transition
	Source      string // where the extension block starts
}
