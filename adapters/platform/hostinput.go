package platform

import (
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/statemgr/statemgr/actors/machine"
)

// HostEvents are the host events a host's input block may accept from
// outside statemgr: observations of the host machine that a host watchdog
// daemon, a crash reporter, a POST-code reader or the host's own agent can
// make, reported on statemgr.input.host.<host>.
var HostEvents = []string{
	machine.ObservedWatchdogExpired, // the host's watchdog ran out: the crash handling (auto-reboot or Quiesced)
	machine.ObservedHostCrash,       // the host crashed (kernel panic, machine check): the same handling
	machine.ObservedPostComplete,    // BIOS POST finished: boot progress OSStart
	machine.ObservedBootProgress,    // a boot progress stage, recorded on the host
}

// HostEventHeartbeat is the keepalive a host's source sends when it has
// nothing else to report, to a host whose input block has a heartbeat. It
// is not a host event: it changes nothing and is not recorded.
const HostEventHeartbeat = "heartbeat"

// HostInput is a host's "input" block: which host events statemgr takes
// for it from other services (HostEvents). A host without one takes none.
type HostInput struct {
	Events []string // in file order, each once
	// Heartbeat, if set, is how long the source may go without an event
	// (or a HostEventHeartbeat) while the host is Running before statemgr
	// takes the silence for a watchdog expiry. 0: no heartbeat.
	Heartbeat time.Duration
}

// Heartbeat bounds.
const (
	MinHostHeartbeat = time.Second
	MaxHostHeartbeat = time.Hour
)

// Accepts reports whether the block accepts event; a nil HostInput
// accepts none.
func (in *HostInput) Accepts(event string) bool {
	return in != nil && slices.Contains(in.Events, event)
}

var hostInputSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "events", Required: true}, {Name: "heartbeat"}}}

// hostInput reads a host's input blocks (at most one).
func (p *parser) hostInput(blocks hcl.Blocks, host string) *HostInput {
	b := p.single(blocks)
	if b == nil {
		return nil
	}
	a := p.content(b.Body, hostInputSchema).Attributes
	attr, given := a["events"]
	if !given {
		return nil // content reported the missing attribute
	}
	in := &HostInput{}
	list := p.strList(a, "events") // nil: it did not decode, and the decoder said why
	if list != nil && len(list) == 0 {
		p.errorf(attr.Expr.Range(), "host %q input: events is empty; list the events the host takes (%s), or leave the block out", host, strings.Join(HostEvents, ", "))
	}
	for _, ev := range list {
		switch {
		case !slices.Contains(HostEvents, ev):
			p.errorf(attr.Expr.Range(), "host %q input: %q is not a host event; events are %s", host, ev, strings.Join(HostEvents, ", "))
		case slices.Contains(in.Events, ev):
			p.errorf(attr.Expr.Range(), "host %q input: event %q is listed twice", host, ev)
		default:
			in.Events = append(in.Events, ev)
		}
	}
	if hb, given := a["heartbeat"]; given {
		in.Heartbeat = p.duration(a, "heartbeat", 0, false)
		switch {
		case in.Heartbeat == 0: // the decoder said why
		case in.Heartbeat < MinHostHeartbeat || in.Heartbeat > MaxHostHeartbeat:
			p.errorf(hb.Expr.Range(), "host %q input: heartbeat %v is outside %v..%v", host, in.Heartbeat, MinHostHeartbeat, MaxHostHeartbeat)
			in.Heartbeat = 0
		case list != nil && !slices.Contains(list, machine.ObservedWatchdogExpired):
			p.errorf(hb.Expr.Range(), "host %q input: a heartbeat's silence is a watchdog expiry; add %q to events", host, machine.ObservedWatchdogExpired)
		}
	}
	return in
}
