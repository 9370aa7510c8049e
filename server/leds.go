package server

import (
	"context"
	"time"

	"github.com/statemgr/statemgr/adapters/leds"
)

// LED subjects: the LEDs' state, identify (Redfish
// LocationIndicatorActive) and the lamp test.
const (
	SubjectLEDsList    = "statemgr.leds.list"
	SubjectLEDIdentify = "statemgr.led.identify"
	SubjectLEDLampTest = "statemgr.led.lamp_test"
)

type (
	// LEDsRequest asks for every location's LEDs; it has no fields.
	LEDsRequest struct{}
	// IdentifyRequest turns a location's identify on or off. For is how
	// long it stays on ("5m"; none: until turned off); it is only for
	// turning it on.
	IdentifyRequest struct {
		ID     string `json:"id"`
		Active *bool  `json:"active"`
		For    string `json:"for,omitempty"`
	}
	// LampTestRequest lights every LED for For (default 10s, up to 5m).
	LampTestRequest struct {
		For string `json:"for,omitempty"`
	}
	// LampTestReply says until when the lamp test lights the LEDs.
	LampTestReply struct {
		Until time.Time `json:"until"`
	}
)

func (s *Server) ledController() (*leds.Controller, *Error) {
	if s.cfg.LEDs == nil {
		return nil, newError(ErrNoLEDs, "this statemgr has no LED controller")
	}
	return s.cfg.LEDs, nil
}

// ledsList answers once the LEDs show every state recorded before the
// request (Sync), so a read after a transition sees its LEDs.
func (s *Server) ledsList(ctx context.Context, c *call) (any, error) {
	if _, derr := decode[LEDsRequest](c.data); derr != nil {
		return nil, derr
	}
	ctl, derr := s.ledController()
	if derr != nil {
		return nil, derr
	}
	if err := ctl.Sync(ctx); err != nil {
		return nil, classify(err)
	}
	return ctl.View(), nil
}

// ledDuration parses a request's "for"; "" is 0.
func ledDuration(raw string) (time.Duration, *Error) {
	if raw == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, newError(ErrBadIndicatorDuration, `"for" %q is not a duration such as "5m"`, raw)
	}
	return d, nil
}

func (s *Server) identify(ctx context.Context, c *call) (any, error) {
	req, derr := decode[IdentifyRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	id, derr := componentID(req.ID, "")
	if derr != nil {
		return nil, derr
	}
	if req.Active == nil {
		return nil, newError(ErrBadRequest, `missing "active": send true to identify %s, false to stop`, id)
	}
	d, derr := ledDuration(req.For)
	if derr != nil {
		return nil, derr
	}
	if _, ok := s.cfg.System.Machine(id); !ok {
		return nil, newError(ErrUnknownComponent, "no component %s", id)
	}
	ctl, derr := s.ledController()
	if derr != nil {
		return nil, derr
	}
	v, err := ctl.Identify(ctx, id, *req.Active, d, c.requester)
	if err != nil {
		return nil, classify(err)
	}
	return v, nil
}

func (s *Server) lampTest(ctx context.Context, c *call) (any, error) {
	req, derr := decode[LampTestRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	d, derr := ledDuration(req.For)
	if derr != nil {
		return nil, derr
	}
	ctl, derr := s.ledController()
	if derr != nil {
		return nil, derr
	}
	until, err := ctl.LampTest(ctx, d)
	if err != nil {
		return nil, classify(err)
	}
	return LampTestReply{Until: until}, nil
}
