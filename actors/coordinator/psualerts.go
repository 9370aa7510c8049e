package coordinator

import (
	"fmt"
	"slices"
	"time"

	"github.com/statemgr/statemgr/actors"
)

// PSUAlert is a standing alert of a PSU that does not answer on its bus.
// It is raised when a read of the PSU fails (retries included) and cleared
// when a read succeeds again; no operator acknowledgement is needed, since
// the PSU's answer is the evidence that the condition is over.
type PSUAlert struct {
	PSU     string
	Chassis actors.ID
	Since   time.Time // when the coordinator first saw it silent
	Cause   string    // the read's error
}

// notePSU records a change of p's reachability seen in one read (err nil:
// it answered): a PSU that stops answering raises its standing alert
// (RecPSUUnreachable), one that answers again clears it (RecPSUAnswers).
// The record is durable before the alert is visible (PSUAlerts, the
// published event stream follows the log).
func (c *Coordinator) notePSU(ch actors.ID, p string, readErr error) {
	_ = c.call(func(s *state) {
		_, standing := s.psuDown[p]
		if (readErr != nil) == standing {
			return
		}
		now := c.cfg.Clock.Now()
		typ, r := RecPSUAnswers, Record{Component: ch, PSU: p, At: now, Cause: fmt.Sprintf("%s answers on its bus again", p)}
		if readErr != nil {
			typ, r = RecPSUUnreachable, Record{Component: ch, PSU: p, At: now, Cause: fmt.Sprintf("%s does not answer on its bus: %v", p, readErr)}
		}
		if _, _, err := c.append(typ, "", r); err != nil {
			// Not raised (or not cleared) until it is logged: the next
			// read tries again.
			c.log.Error("cannot record a psu's reachability", "psu", p, "chassis", ch, "record", typ, "error", err)
			return
		}
		c.replay(s, typ, r)
		if readErr != nil {
			c.log.Error("psu does not answer; standing alert raised, power-ons of its chassis refused (psu_unreachable)", "psu", p, "chassis", ch, "error", readErr)
		} else {
			c.log.Info("psu answers again; standing alert cleared", "psu", p, "chassis", ch)
		}
	})
}

// PSUAlerts returns the standing alerts of PSUs that do not answer, in
// topology order. A restart keeps them (replay) until a read succeeds.
func (c *Coordinator) PSUAlerts() ([]PSUAlert, error) {
	var out []PSUAlert
	err := c.call(func(s *state) {
		for _, a := range s.psuDown {
			out = append(out, a)
		}
	})
	order := map[string]int{}
	for _, ch := range c.cfg.Topology.Chassis {
		for _, p := range ch.PSUs {
			order[p] = len(order)
		}
	}
	slices.SortFunc(out, func(a, b PSUAlert) int { return order[a.PSU] - order[b.PSU] })
	return out, err
}
