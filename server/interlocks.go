package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
)

// SubjectInterlocksList lists, for every request each host, chassis and
// the BMC could get, the checks that would refuse it now.
const SubjectInterlocksList = "statemgr.interlocks.list"

type (
	// InterlocksRequest asks statemgr.interlocks.list: ID narrows it to
	// one component ("" = every one); From is the item to start at (a
	// reply's "next", "<id>/<request>"), Limit as in ListRequest.
	InterlocksRequest struct {
		ID    string `json:"id,omitempty"`
		From  string `json:"from,omitempty"`
		Limit int    `json:"limit,omitempty"`
	}
	// InterlocksReply is the reply of statemgr.interlocks.list: an item
	// per request of each component, the BMC's first, then each
	// chassis' and its hosts', paged by size.
	InterlocksReply struct {
		Requests []RequestBlockers `json:"requests"`
		Next     string            `json:"next,omitempty"` // the item to pass as "from" (RequestBlockers.Key)
		More     bool              `json:"more,omitempty"`
	}
	// RequestBlockers is what refuses one request to one component now,
	// in admission's order: the first is exactly the refusal the request
	// would get (code 10018 interlock, 10017 component_busy, 10019
	// hosts_not_off, 10007 for powered_not_running). None: it would be admitted (or, its component
	// being where it asks already, succeed as a no-op).
	RequestBlockers struct {
		ID       string                `json:"id"`
		Request  string                `json:"request"` // as its control subject takes it: On, ForceOff, ...
		Kind     coordinator.Kind      `json:"kind"`    // the coordinator operation it runs as
		Blockers []coordinator.Blocker `json:"blockers"`
	}
)

// Key names an item for paging: "<id>/<request>".
func (r RequestBlockers) Key() string { return r.ID + "/" + r.Request }

// interlocks answers statemgr.interlocks.list from the coordinator's
// Blockers (which reads the hardware at most once per
// coordinator.BlockersMaxAge, however often it is asked).
func (s *Server) interlocks(ctx context.Context, c *call) (any, error) {
	req, derr := decode[InterlocksRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	if req.ID != "" {
		id, derr := componentID(req.ID, "")
		if derr != nil {
			return nil, derr
		}
		if _, ok := s.cfg.System.Machine(id); !ok {
			return nil, newError(ErrUnknownComponent, "no component %s", id)
		}
	}
	// Blockers reads the components and the hardware: bounded like any
	// request to a component.
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	all, err := s.cfg.Operations.Blockers(rctx)
	cancel()
	if err != nil {
		if errors.Is(err, coordinator.ErrStopped) || errors.Is(err, coordinator.ErrNotStarted) {
			return nil, newError(ErrStopping, "cannot list the interlocks: %v", err)
		}
		return nil, fmt.Errorf("cannot list the interlocks: %w", err)
	}
	items := make([]RequestBlockers, 0, len(all))
	for _, rb := range all {
		if req.ID == "" || string(rb.Component) == req.ID {
			items = append(items, RequestBlockers{ID: string(rb.Component), Request: rb.Request, Kind: rb.Kind, Blockers: rb.Blockers})
		}
	}
	if req.ID != "" && len(items) == 0 {
		return nil, newError(ErrWrongKind, "%s is a %s: only hosts, chassis and the BMC take coordinated requests", req.ID, actors.ID(req.ID).Kind())
	}
	var reply InterlocksReply
	reply.Requests, reply.Next, derr = idPage(items, RequestBlockers.Key, "an item", req.From, req.Limit)
	if derr != nil {
		return nil, derr
	}
	reply.More = reply.Next != ""
	return reply, nil
}

func (r InterlocksReply) pageItems() []any { return anySlice(r.Requests) }

func (r InterlocksReply) itemName(i int) string { return "the blockers of " + r.Requests[i].Key() }

func (r InterlocksReply) firstItems(n int) any {
	r.Next, r.More = r.Requests[n].Key(), true
	r.Requests = r.Requests[:n]
	return r
}
