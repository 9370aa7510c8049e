package coordinator

import (
	"slices"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

// Hold is one operation's claim on a component: launched (it runs) or
// queued (it waits for its turn, and a later request must wait behind it).
type Hold struct {
	Op        string `json:"operation"`
	Kind      Kind   `json:"kind"`
	Exclusive bool   `json:"exclusive"`
	Queued    bool   `json:"queued,omitempty"`
}

// claims is what the operations in flight and queued hold. The loop
// builds it from its state to decide conflicts and publishes a copy after
// every change, which Busy and Holds read without waiting on the loop.
type claims struct {
	// byComponent lists, per component, the launched operations first,
	// then the queued ones in their turn.
	byComponent map[actors.ID][]Hold
	// emergency is the emergency operation in flight, if any: every
	// request is refused busy while it runs.
	emergency string
}

// claims builds the claims of s's operations.
func (s *state) claims() *claims {
	cl := &claims{byComponent: map[actors.ID][]Hold{}}
	if s.emergency != nil {
		cl.emergency = s.emergency.id
	}
	ids := make([]actors.ID, 0, len(s.holders))
	for id := range s.holders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		hs := slices.Clone(s.holders[id])
		// Launch order, so that the claims read the same every time.
		slices.SortFunc(hs, func(a, b *op) int { return compareOps(a.id, b.id) })
		for _, h := range hs {
			cl.byComponent[id] = append(cl.byComponent[id], Hold{Op: h.id, Kind: h.req.Kind, Exclusive: h.locks[id]})
		}
	}
	for _, q := range s.queue {
		for id, excl := range q.locks {
			cl.byComponent[id] = append(cl.byComponent[id], Hold{Op: q.id, Kind: q.req.Kind, Exclusive: excl, Queued: true})
		}
	}
	return cl
}

// conflict returns a BusyError naming an operation holding what locks
// need, or nil. self is the operation asking (queued: only the launched
// operations and those queued before it count), "" for a new request.
func (cl *claims) conflict(locks map[actors.ID]bool, self string) *BusyError {
	ids := make([]actors.ID, 0, len(locks))
	for id := range locks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for _, h := range cl.byComponent[id] {
			if h.Op == self {
				break // launched: its own hold; queued: its turn comes after those before it
			}
			if locks[id] || h.Exclusive {
				return &BusyError{Component: id, InFlight: h.Op, Kind: h.Kind}
			}
		}
	}
	return nil
}

// publishClaims makes the loop's claims readable by Busy and Holds, if
// they changed.
func (c *Coordinator) publishClaims(s *state) {
	if s.claimsChanged {
		s.claimsChanged = false
		c.claims.Store(s.claims())
	}
}

// Busy returns the refusal req would get now from the operations in
// flight or queued (an emergency refuses everything), or nil. It reads the
// claims the loop publishes, neither the hardware nor the loop, so that a
// status can say what is busy on every read; statuses are the components'
// (a host power-on also holds its chassis when that is not On). A request
// Busy passes may still be refused by an operation admitted meanwhile.
func (c *Coordinator) Busy(req Request, statuses map[actors.ID]machine.Status) *BusyError {
	cl := c.claims.Load()
	if cl == nil {
		return nil
	}
	if req.validate(c.cfg.Topology) != nil {
		return nil // refused for what it is, not for being busy
	}
	return cl.busy(req.Target, c.footprint(req, &snapshot{status: statuses}))
}

// busy returns the refusal a new request on target holding locks gets:
// from the emergency in flight, else from a conflict.
func (cl *claims) busy(target actors.ID, locks map[actors.ID]bool) *BusyError {
	if cl.emergency != "" {
		return &BusyError{Component: target, InFlight: cl.emergency, Kind: Emergency}
	}
	return cl.conflict(locks, "")
}

// Holds returns what the operations in flight and queued hold, per
// component, as last published by the loop.
func (c *Coordinator) Holds() map[actors.ID][]Hold {
	out := map[actors.ID][]Hold{}
	if cl := c.claims.Load(); cl != nil {
		for id, hs := range cl.byComponent {
			out[id] = slices.Clone(hs)
		}
	}
	return out
}
