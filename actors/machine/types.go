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
