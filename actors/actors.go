package actors

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
)

// Component kinds.
const (
	KindHost    = "host"
	KindChassis = "chassis"
	KindBMC     = "bmc"
	KindService = "service"
)

// ID names a component as "<kind>.<name>": "host.0", "chassis.0", "bmc.0",
// "service.sync". It is also the component's stream id in the event log and
// its actor's name, so it must never change.
type ID string

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Errors of the actors package.
var (
	// ErrBadID means a component id is not "<kind>.<name>" with a known kind.
	ErrBadID = errors.New("invalid component id")
	// ErrUnknownComponent means no component has that id.
	ErrUnknownComponent = errors.New("unknown component")
	// ErrInconsistentLog means a stream's records do not follow each other
	// (a transition from a state the component was not in), or a record
	// names a transition its machine does not have.
	ErrInconsistentLog = errors.New("component log is inconsistent")
	// ErrUnavailable means the component's actor did not answer in time:
	// it may be recovering or restarting after a failure. The request's
	// outcome is unknown; retry with the same operation id.
	ErrUnavailable = errors.New("component unavailable")
)

// ParseID checks s and returns it as an ID.
func ParseID(s string) (ID, error) {
	kind, name, ok := strings.Cut(s, ".")
	if !ok {
		return "", fmt.Errorf("%w %q: want <kind>.<name>, e.g. host.0", ErrBadID, s)
	}
	switch kind {
	case KindHost, KindChassis, KindBMC, KindService:
	default:
		return "", fmt.Errorf("%w %q: kind %q is not one of host, chassis, bmc, service", ErrBadID, s, kind)
	}
	if !namePattern.MatchString(name) {
		return "", fmt.Errorf("%w %q: name %q must be 1-64 letters, digits, '-' or '_', starting with a letter or digit", ErrBadID, s, name)
	}
	return ID(s), nil
}

// Kind returns the id's kind, e.g. "host".
func (id ID) Kind() string { k, _, _ := strings.Cut(string(id), "."); return k }

// Name returns the id's name, e.g. "0".
func (id ID) Name() string { _, n, _ := strings.Cut(string(id), "."); return n }

// EventCreated is the type of the first record of every component stream:
// the machine entering its initial state when the component first started.
const EventCreated machine.EventType = "created"

// Record is the payload of every event in a component's stream: what
// happened (a machine event) and the component's status right after it, so
// that recovery needs no machine definition and a changed platform file can
// never reinterpret history. EncodeRecord and DecodeRecord (record.go) turn
// it into a log event and back.
type Record struct {
	Event  machine.Event  `json:"event"`
	Status machine.Status `json:"status"`
}

// Follows checks that r can follow a component whose status is prev:
// a transition must leave the state the component was in.
func Follows(prev machine.Status, r Record) error {
	if r.Event.Type == machine.EventTransition && r.Event.From != prev.State {
		return fmt.Errorf("%w: transition %s -> %s (%s) recorded while the component was in %s",
			ErrInconsistentLog, r.Event.From, r.Event.To, r.Event.Trigger, prev.State)
	}
	return nil
}

// Transition is one entry of a component's history.
type Transition struct {
	Seq       uint64    `json:"seq"` // stream sequence of the record
	From      string    `json:"from"`
	To        string    `json:"to"`
	Trigger   string    `json:"trigger"`
	Cause     string    `json:"cause,omitempty"`
	Requester string    `json:"requester,omitempty"`
	Operation string    `json:"operation,omitempty"`
	Time      time.Time `json:"time"`
}

// HistoryOf extracts the transitions (creation included, as a transition
// from "") from a component's stream events.
func HistoryOf(evs []events.Event) ([]Transition, error) {
	var out []Transition
	for _, e := range evs {
		if e.Type != string(machine.EventTransition) && e.Type != string(EventCreated) {
			continue
		}
		r, err := DecodeRecord(e)
		if err != nil {
			return out, err
		}
		out = append(out, Transition{Seq: e.StreamSeq, From: r.Event.From, To: r.Event.To, Trigger: r.Event.Trigger,
			Cause: r.Event.Cause, Requester: r.Event.Requester, Operation: r.Event.Operation, Time: r.Event.Time})
	}
	return out, nil
}

// Stats summarises a component's history.
type Stats struct {
	TimeInState map[string]time.Duration `json:"time_in_state"`
	Entered     map[string]int           `json:"entered"`     // how often each state was entered
	Transitions int                      `json:"transitions"` // state changes, self-loops excluded
}

// Statistics computes time spent in each state and transition counts from
// a complete history (starting with the creation record), up to now.
func Statistics(history []Transition, now time.Time) Stats {
	s := Stats{TimeInState: map[string]time.Duration{}, Entered: map[string]int{}}
	for i, t := range history {
		if t.From == t.To {
			continue
		}
		if t.From != "" {
			s.Transitions++
		}
		s.Entered[t.To]++
		end := now
		for _, next := range history[i+1:] {
			if next.From != next.To {
				end = next.Time
				break
			}
		}
		if end.After(t.Time) {
			s.TimeInState[t.To] += end.Sub(t.Time)
		}
	}
	return s
}

// CheckLog verifies that a component's stream holds only what its machine
// allows: it starts with a creation record in the initial state, every
// transition follows the previous one and is declared by the machine (or is
// a timeout of a state with one).
func CheckLog(m *machine.Machine, evs []events.Event) error {
	declared := map[[3]string]bool{}
	for _, t := range m.Transitions {
		declared[[3]string{t.From, t.Trigger, t.To}] = true
	}
	timeouts := map[string]string{}
	for _, s := range m.States {
		if s.Timeout > 0 {
			timeouts[s.Name] = s.TimeoutTo
		}
	}
	var prev machine.Status
	for i, e := range evs {
		r, err := DecodeRecord(e)
		if err != nil {
			return err
		}
		switch {
		case i == 0 && (r.Event.Type != EventCreated || r.Status.State != m.Initial):
			return fmt.Errorf("%w: %s starts with %s into %s, want a creation record in %s", ErrInconsistentLog, e.Stream, r.Event.Type, r.Status.State, m.Initial)
		case r.Event.Type == machine.EventTransition:
			if err := Follows(prev, r); err != nil {
				return fmt.Errorf("%s event %d: %w", e.Stream, e.StreamSeq, err)
			}
			if r.Status.State != r.Event.To {
				return fmt.Errorf("%w: %s event %d: transition to %s left the status in %s", ErrInconsistentLog, e.Stream, e.StreamSeq, r.Event.To, r.Status.State)
			}
			t := r.Event
			if !declared[[3]string{t.From, t.Trigger, t.To}] && !(t.Trigger == machine.TriggerTimeout && timeouts[t.From] == t.To) {
				return fmt.Errorf("%w: %s event %d: %s --%s--> %s is not a transition of the %s machine", ErrInconsistentLog, e.Stream, e.StreamSeq, t.From, t.Trigger, t.To, m.Kind)
			}
		}
		if r.Event.Type != machine.EventTransition && r.Event.Type != EventCreated && r.Status.State != prev.State {
			return fmt.Errorf("%w: %s event %d (%s) changed the state from %s to %s", ErrInconsistentLog, e.Stream, e.StreamSeq, r.Event.Type, prev.State, r.Status.State)
		}
		prev = r.Status
	}
	return nil
}
