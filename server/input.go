package server

import (
	"context"
	"strings"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server/inputs"
)

// MaxInputSize bounds an input report's body: a few numbers and two short
// texts (inputs.MaxText each).
const MaxInputSize = 1 << 10

// Input report bodies (statemgr.input.<kind>.<name>).
type (
	// ThermalInputRequest is a thermal zone's report: "celsius", "level"
	// (normal, warning, critical) or both; the worse of the level given
	// and the level of the reading against the input's limits counts.
	ThermalInputRequest struct {
		Celsius *float64 `json:"celsius,omitempty"`
		Level   string   `json:"level,omitempty"`
		Sensor  string   `json:"sensor,omitempty"`
		Message string   `json:"message,omitempty"`
	}
	// HealthInputRequest is a sensor's health: "level" ok, warning or
	// critical.
	HealthInputRequest struct {
		Level   string `json:"level"`
		Message string `json:"message,omitempty"`
	}
)

// InputReply is the answer to an input report: the input as statemgr now
// holds it.
type InputReply struct {
	Input  string `json:"input"` // "<kind>.<name>"
	Level  string `json:"level"`
	Detail string `json:"detail"`
}

// inputName returns the <name> of statemgr.input.<kind>.<name>.
func inputName(subject string, kind platform.InputKind) (string, *Error) {
	name, ok := strings.CutPrefix(subject, SubjectInputPrefix+string(kind)+".")
	if !ok || name == "" || strings.Contains(name, ".") {
		return "", newError(ErrBadRequest, "input subject %q is not %s%s.<name>", subject, SubjectInputPrefix, kind)
	}
	return name, nil
}

// inputStore returns the Store reports go to, or why there is none.
func (s *Server) inputStore() (*inputs.Store, *Error) {
	if s.cfg.Inputs == nil {
		return nil, newError(ErrUnknownInput, "this statemgr takes no external inputs: it runs without an input store")
	}
	return s.cfg.Inputs, nil
}

func (s *Server) thermalInput(_ context.Context, c *call) (any, error) {
	return inputReport(s, c, platform.InputThermal, func(store *inputs.Store, name string, req ThermalInputRequest, by string) (inputs.Reading, error) {
		return store.ReportThermal(name, inputs.Thermal{Celsius: req.Celsius, Level: req.Level, Sensor: req.Sensor, Message: req.Message}, by)
	})
}

func (s *Server) healthInput(_ context.Context, c *call) (any, error) {
	return inputReport(s, c, platform.InputHealth, func(store *inputs.Store, name string, req HealthInputRequest, by string) (inputs.Reading, error) {
		return store.ReportHealth(name, inputs.Health{Level: req.Level, Message: req.Message}, by)
	})
}

// inputReport answers statemgr.input.<kind>.<name>: it decodes the body,
// takes the input's name from the subject and hands both to report.
func inputReport[Req any](s *Server, c *call, kind platform.InputKind, report func(*inputs.Store, string, Req, string) (inputs.Reading, error)) (any, error) {
	req, derr := decode[Req](c.data)
	if derr != nil {
		return nil, derr
	}
	name, derr := inputName(c.subject, kind)
	if derr != nil {
		return nil, derr
	}
	store, derr := s.inputStore()
	if derr != nil {
		return nil, derr
	}
	r, err := report(store, name, req, s.reporter(c))
	if err != nil {
		return nil, err
	}
	return InputReply{Input: string(r.Kind) + "." + r.Name, Level: r.Level, Detail: r.Detail}, nil
}

// reporter names an input's publisher for the evidence: its NATS user, or
// nobody in particular.
func (s *Server) reporter(c *call) string {
	if c.requester == Anonymous {
		return inputs.ReportedByAny
	}
	return c.requester
}
