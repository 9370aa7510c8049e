package server

import (
	"context"
	"errors"
	"strings"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
)

// validate answers statemgr.validate: it parses the platform file in the
// request and checks every component's machine, as statemgr validate does
// locally. A file with problems is a successful reply with OK false; one
// past the limits of platform.CheckLimits is refused ErrTooComplex, as
// every request past a cost limit is.
func (s *Server) validate(_ context.Context, c *call) (any, error) {
	req, derr := decode[ValidateRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	if strings.TrimSpace(req.Source) == "" {
		return nil, newError(ErrBadRequest, `missing "source": send the platform file's text`)
	}
	name := req.Name
	if name == "" {
		name = "platform.hcl"
	}
	if req.From < 0 {
		return nil, newError(ErrBadRequest, `"from" must be 0 or more, got %d`, req.From)
	}
	_, reply, err := validatePlatform(name, []byte(req.Source))
	if err != nil {
		return nil, err
	}
	return reply.from(req.From)
}

// from drops the reply's first n items (errors, then components): the
// pages before a request's "from".
func (r ValidateReply) from(n int) (ValidateReply, error) {
	if total := len(r.Errors) + len(r.Components); n > total {
		return r, newError(ErrBadRequest, `"from" %d is past the reply's %d errors and components: pass the "next" of the previous reply`, n, total)
	}
	r.From = n
	skipErrors := min(n, len(r.Errors))
	r.Errors = r.Errors[skipErrors:]
	r.Components = r.Components[n-skipErrors:]
	if len(r.Errors) == 0 {
		r.Errors = nil
	}
	if len(r.Components) == 0 {
		r.Components = nil
	}
	return r, nil
}

// validatePlatform parses a platform file and validates every component's
// machine; the platform is nil unless the reply is OK.
func validatePlatform(name string, src []byte) (*platform.Platform, ValidateReply, error) {
	reply := ValidateReply{Platform: name}
	plat, err := platform.Parse(name, src)
	if errors.Is(err, platform.ErrTooComplex) {
		return nil, reply, &Error{Kind: ErrTooComplex, Message: strings.ReplaceAll(err.Error(), "\n", "; "), Err: err}
	}
	if err != nil {
		var perr *platform.Error
		if errors.As(err, &perr) {
			for _, d := range perr.Diagnostics {
				reply.Errors = append(reply.Errors, d.String())
			}
		} else {
			reply.Errors = []string{err.Error()}
		}
		return nil, reply, nil
	}
	comps, err := plat.Components()
	if err != nil {
		reply.Errors = strings.Split(err.Error(), "\n")
		return nil, reply, nil
	}
	reply.OK = true
	for _, c := range comps {
		r := ComponentReport{ID: c.ID, States: len(c.Machine.States), Transitions: len(c.Machine.Transitions)}
		for _, p := range machine.Validate(c.Machine) {
			r.Problems = append(r.Problems, p.String())
		}
		reply.OK = reply.OK && len(r.Problems) == 0
		reply.Components = append(reply.Components, r)
	}
	if !reply.OK {
		plat = nil
	}
	return plat, reply, nil
}

// problems lists what the reply found wrong: the parse errors, then each
// component's problems.
func (r ValidateReply) problems() []string {
	out := append([]string{}, r.Errors...)
	for _, c := range r.Components {
		for _, p := range c.Problems {
			out = append(out, c.ID+": "+p)
		}
	}
	return out
}
