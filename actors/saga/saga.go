package saga

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Errors of the saga package; test with errors.Is.
var (
	// ErrInvalidPlan means a plan cannot be run: no id, no steps, a step
	// without an action or target.
	ErrInvalidPlan = errors.New("invalid saga plan")
	// ErrNotFound means no saga has that id in the log.
	ErrNotFound = errors.New("saga not found")
	// ErrExists means a saga with that id was already started.
	ErrExists = errors.New("saga already exists")
	// ErrCorruptLog means a saga's records do not follow each other or
	// cannot be decoded; the saga is left alone for an operator.
	ErrCorruptLog = errors.New("saga log is inconsistent")
	// ErrSuperseded is the cancellation cause that ends a saga superseded:
	// cancel its context with context.WithCancelCause and an error wrapping
	// it.
	ErrSuperseded = errors.New("saga superseded")
	// ErrPermanent is wrapped by *PermanentError: the target refused the
	// command and a retry would be refused too.
	ErrPermanent = errors.New("command refused")
	// ErrUnknownOutcome means the command timed out or the target did not
	// answer and a query could not tell whether it applied.
	ErrUnknownOutcome = errors.New("command outcome unknown")
)

// PermanentError marks an Executor error as final: the step fails without
// retry. Wrap refusals (a guard, an interlock) with Permanent.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the refusal and ErrPermanent.
func (e *PermanentError) Unwrap() []error { return []error{e.Err, ErrPermanent} }

// Permanent wraps err as a refusal; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// StepError says which step of which saga failed and why.
type StepError struct {
	Saga  string
	Step  int
	Name  string
	CmdID string
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("saga %s step %d (%s, cmd %s): %v", e.Saga, e.Step, e.Name, e.CmdID, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Outcome is how a saga (and the operation it runs) ended.
type Outcome string

// Outcomes. Rejected is never written by the engine: it is the outcome of
// an operation refused before its saga started.
const (
	Succeeded   Outcome = "succeeded"
	Failed      Outcome = "failed"
	Compensated Outcome = "compensated"
	TimedOut    Outcome = "timed_out"
	Superseded  Outcome = "superseded"
	Rejected    Outcome = "rejected"
	// Abandoned is a saga a restored log holds unfinished: the restore
	// neither resumes nor compensates it (Engine.Abandon).
	Abandoned Outcome = "abandoned"
)

// Command is one instruction to a target, as data.
type Command struct {
	Action string            `json:"action"`
	Target string            `json:"target"`
	Params map[string]string `json:"params,omitempty"`
}

func (c Command) String() string {
	if len(c.Params) == 0 {
		return c.Action + " " + c.Target
	}
	var kv []string
	for k, v := range c.Params {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return fmt.Sprintf("%s %s (%s)", c.Action, c.Target, strings.Join(kv, ", "))
}

// Retry is a capped exponential backoff: Attempts tries in all, waiting
// Initial, then doubling, at most Max between them.
type Retry struct {
	Attempts int           `json:"attempts"`
	Initial  time.Duration `json:"initial"`
	Max      time.Duration `json:"max"`
}

// DefaultRetry tries three times, 100 ms then 200 ms apart.
var DefaultRetry = Retry{Attempts: 3, Initial: 100 * time.Millisecond, Max: 5 * time.Second}

// DefaultCompRetry retries a compensation eight times, from 100 ms doubling
// to at most 5 s, before the saga is parked.
var DefaultCompRetry = Retry{Attempts: 8, Initial: 100 * time.Millisecond, Max: 5 * time.Second}

// Delay returns the wait after the n-th failed attempt (n >= 1).
func (r Retry) Delay(n int) time.Duration {
	d := r.Initial
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	if r.Max > 0 && d > r.Max {
		d = r.Max
	}
	return d
}

func (r Retry) orDefault(def Retry) Retry {
	if r.Attempts <= 0 {
		return def
	}
	return r
}

// Step is one step of a plan.
type Step struct {
	Name    string  `json:"name"`
	Command Command `json:"command"`
	// Compensation undoes the command; nil makes the step irreversible.
	Compensation *Command      `json:"compensation,omitempty"`
	Timeout      time.Duration `json:"timeout"` // per attempt; 0: DefaultTimeout
	Retry        Retry         `json:"retry"`   // zero: DefaultRetry
	// Escalate makes the step a rung of an escalation ladder: if it fails,
	// the saga goes on with the next step; if it succeeds, the following
	// rungs (this step's successors while the previous one escalates) are
	// skipped.
	Escalate bool `json:"escalate,omitempty"`
}

// DefaultTimeout bounds one attempt of a step without a Timeout.
const DefaultTimeout = 30 * time.Second

// Plan is what a saga does.
type Plan struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`                // e.g. "chassis_power_on"
	Requester string `json:"requester,omitempty"` // who asked
	Steps     []Step `json:"steps"`
	CompRetry Retry  `json:"comp_retry"` // zero: DefaultCompRetry
}

// Validate reports what makes p unrunnable.
func (p Plan) Validate() error {
	var problems []string
	if p.ID == "" {
		problems = append(problems, "no id")
	} else if strings.ContainsAny(p.ID, " */>") {
		problems = append(problems, fmt.Sprintf("id %q contains a space, '*', '/' or '>'", p.ID))
	}
	if len(p.Steps) == 0 {
		problems = append(problems, "no steps")
	}
	for i, s := range p.Steps {
		if s.Command.Action == "" || s.Command.Target == "" {
			problems = append(problems, fmt.Sprintf("step %d (%s) needs an action and a target", i, s.Name))
		}
		if s.Escalate && i == len(p.Steps)-1 {
			problems = append(problems, fmt.Sprintf("step %d (%s) escalates but is the last step: a ladder ends in a step that does not escalate", i, s.Name))
		}
		if c := s.Compensation; c != nil && (c.Action == "" || c.Target == "") {
			problems = append(problems, fmt.Sprintf("step %d (%s) has a compensation without action or target", i, s.Name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w %q: %s", ErrInvalidPlan, p.ID, strings.Join(problems, "; "))
	}
	return nil
}

// StepID is the deterministic command id of step i of saga id.
func StepID(id string, i int) string { return fmt.Sprintf("%s/%d", id, i) }

// UndoID is the deterministic command id of step i's compensation.
func UndoID(id string, i int) string { return StepID(id, i) + "/undo" }

// Stream is the log stream of saga id.
func Stream(id string) string { return "saga." + id }

// IndexStream lists the sagas opened and closed.
const IndexStream = "sagas"

// Result is how a saga ended.
type Result struct {
	ID      string  `json:"id"`
	Kind    string  `json:"kind"`
	Outcome Outcome `json:"outcome"`
	// Reason explains a saga that did not succeed: the failed step's error.
	Reason string `json:"reason,omitempty"`
	// FailedStep is the index of the step that failed, -1 if none.
	FailedStep int `json:"failed_step"`
	// Alert is set when the saga was parked and someone must look at it.
	Alert string `json:"alert,omitempty"`
}
