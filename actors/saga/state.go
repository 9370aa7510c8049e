package saga

import (
	"encoding/json"
	"fmt"

	"github.com/statemgr/statemgr/events"
)

// Record types of a saga stream.
const (
	RecStarted      = "saga_started"
	RecStepIssued   = "step_issued"
	RecStepOK       = "step_succeeded"
	RecStepUnknown  = "step_unknown"
	RecStepFailed   = "step_failed"
	RecStepSkipped  = "step_skipped"
	RecCompensating = "compensating"
	RecCompIssued   = "comp_issued"
	RecCompDone     = "comp_done"
	RecCompleted    = "saga_completed"
	RecCompensated  = "saga_compensated"
	RecFailed       = "saga_failed"
	RecSuperseded   = "saga_superseded"
	// Index records.
	RecOpened = "saga_opened"
	RecClosed = "saga_closed"
)

// recordSchema is the schema of every saga record's payload.
const recordSchema = 1

// record is the payload of a saga record; which fields are set depends on
// its type.
type record struct {
	Plan     *Plan    `json:"plan,omitempty"`
	Step     int      `json:"step"`
	CmdID    string   `json:"cmd_id,omitempty"`
	Comp     *Command `json:"compensation,omitempty"`
	Attempt  int      `json:"attempt,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	TimedOut bool     `json:"timed_out,omitempty"`
	Refused  bool     `json:"refused,omitempty"` // step_failed: the target refused the first attempt: nothing applied
	Outcome  Outcome  `json:"outcome,omitempty"`
	Alert    string   `json:"alert,omitempty"`
	ID       string   `json:"id,omitempty"` // index records
}

// StepStatus is where one step stands.
type StepStatus string

// Step statuses.
const (
	StepPending   StepStatus = "pending"
	StepIssued    StepStatus = "issued"
	StepUnknown   StepStatus = "unknown"
	StepSucceeded StepStatus = "succeeded"
	StepFailed    StepStatus = "failed"
	StepSkipped   StepStatus = "skipped"
)

// State is a saga as its log tells it: what Fold returns and the engine
// continues from.
type State struct {
	Plan    Plan
	Steps   []StepStatus
	Attempt []int // attempts recorded per step (step_unknown count)
	// Compensating is set once compensation has started.
	Compensating bool
	CompFrom     int    // the step compensation started from
	FailedStep   int    // -1 if none
	Reason       string // why the saga failed
	TimedOut     bool   // the failing step ran out of time rather than being refused
	// Refused marks the steps whose target refused their first attempt:
	// nothing of them was applied, so they need no undoing.
	Refused    []bool
	CompIssued []int // attempts per step's compensation
	CompDone   []bool
	// Final is set once the saga ended.
	Final   Outcome
	Alert   string
	Version uint64 // stream head
}

// Done reports whether the saga has ended.
func (s *State) Done() bool { return s.Final != "" }

// Result returns the saga's result so far.
func (s *State) Result() Result {
	return Result{ID: s.Plan.ID, Kind: s.Plan.Kind, Outcome: s.Final, Reason: s.Reason, FailedStep: s.FailedStep, Alert: s.Alert}
}

func decode(e events.Event) (record, error) {
	if e.Schema != recordSchema {
		return record{}, fmt.Errorf("%w: %s record %d has schema %d, this build reads %d", events.ErrUnknownVersion, e.Stream, e.StreamSeq, e.Schema, recordSchema)
	}
	var r record
	if err := json.Unmarshal(e.Payload, &r); err != nil {
		return record{}, fmt.Errorf("%w: %s record %d: %w", ErrCorruptLog, e.Stream, e.StreamSeq, err)
	}
	return r, nil
}

func encode(typ, key string, r record) (events.Event, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return events.Event{}, fmt.Errorf("cannot encode %s: %w", typ, err)
	}
	return events.Event{Type: typ, Schema: recordSchema, IdempotencyKey: key, Payload: b}, nil
}

// Fold rebuilds a saga's state from its stream. It is pure: the same
// records always give the same state, and records that do not follow each
// other are an ErrCorruptLog.
func Fold(evs []events.Event) (*State, error) {
	if len(evs) == 0 {
		return nil, ErrNotFound
	}
	var s *State
	for _, e := range evs {
		r, err := decode(e)
		if err != nil {
			return nil, err
		}
		if s == nil {
			if e.Type != RecStarted || r.Plan == nil {
				return nil, fmt.Errorf("%w: %s starts with %s, want %s", ErrCorruptLog, e.Stream, e.Type, RecStarted)
			}
			s = newState(*r.Plan)
			s.Version = e.StreamSeq
			continue
		}
		if err := s.apply(e.Type, r); err != nil {
			return nil, fmt.Errorf("%s record %d: %w", e.Stream, e.StreamSeq, err)
		}
		s.Version = e.StreamSeq
	}
	return s, nil
}

func newState(p Plan) *State {
	n := len(p.Steps)
	s := &State{Plan: p, Steps: make([]StepStatus, n), Attempt: make([]int, n), CompIssued: make([]int, n), CompDone: make([]bool, n), Refused: make([]bool, n), FailedStep: -1}
	for i := range s.Steps {
		s.Steps[i] = StepPending
	}
	return s
}

// apply folds one record; the engine uses it for records it writes, so
// replay and live execution cannot disagree.
func (s *State) apply(typ string, r record) error {
	if s.Final != "" {
		return fmt.Errorf("%w: %s after the saga ended %s", ErrCorruptLog, typ, s.Final)
	}
	stepOK := r.Step >= 0 && r.Step < len(s.Steps)
	switch typ {
	case RecStepIssued, RecStepOK, RecStepUnknown, RecStepFailed, RecStepSkipped, RecCompIssued, RecCompDone, RecCompensating:
		if !stepOK {
			return fmt.Errorf("%w: %s names step %d of %d", ErrCorruptLog, typ, r.Step, len(s.Steps))
		}
	}
	switch typ {
	case RecStepIssued:
		s.Steps[r.Step] = StepIssued
	case RecStepOK:
		s.Steps[r.Step] = StepSucceeded
	case RecStepUnknown:
		s.Steps[r.Step] = StepUnknown
		s.Attempt[r.Step] = r.Attempt
	case RecStepFailed:
		s.Steps[r.Step], s.Refused[r.Step] = StepFailed, r.Refused
		if !s.Plan.Steps[r.Step].Escalate {
			s.FailedStep, s.Reason, s.TimedOut = r.Step, r.Reason, r.TimedOut
		}
	case RecStepSkipped:
		s.Steps[r.Step] = StepSkipped
	case RecCompensating:
		s.Compensating, s.CompFrom = true, r.Step
		if r.Reason != "" && s.Reason == "" {
			s.Reason = r.Reason
		}
	case RecCompIssued:
		s.CompIssued[r.Step] = r.Attempt
	case RecCompDone:
		s.CompDone[r.Step] = true
	case RecCompleted:
		s.Final = Succeeded
	case RecCompensated:
		s.Final = r.Outcome
	case RecFailed:
		s.Final, s.Alert = Failed, r.Alert
		if r.Reason != "" {
			s.Reason = r.Reason
		}
	case RecSuperseded:
		s.Final, s.Reason = Superseded, r.Reason
	default:
		return fmt.Errorf("%w: unknown record type %q", ErrCorruptLog, typ)
	}
	return nil
}

// next says what the engine does next from s: run step i, or compensate,
// or finish. It is pure.
func (s *State) next() (step int, compensate bool, finish bool) {
	if s.Compensating {
		return -1, true, false
	}
	for i, st := range s.Steps {
		switch st {
		case StepSucceeded, StepSkipped:
			continue
		case StepFailed:
			if s.Plan.Steps[i].Escalate {
				continue
			}
			return -1, true, false
		}
		return i, false, false
	}
	return -1, false, true
}
