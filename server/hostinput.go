package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server/inputs"
)

// HostInputKind is the <kind> of statemgr.input.host.<host>.
const HostInputKind platform.InputKind = "host"

// HostInputRequest is a host event another service reports on
// statemgr.input.host.<host>: "event" is one of platform.HostEvents that
// the host's input block accepts, or platform.HostEventHeartbeat for a
// host whose block has a heartbeat; a boot_progress carries its stage in
// "progress" (an OpenBMC stage or a Redfish BootProgress.LastState).
type HostInputRequest struct {
	Event    string `json:"event"`
	Progress string `json:"progress,omitempty"`
	Message  string `json:"message,omitempty"` // what the reporter saw, at most inputs.MaxText bytes
}

// HostInputReply is the answer to an accepted host event: how the host's
// record of it reads, once durable.
type HostInputReply struct {
	Host  string `json:"host"` // "host.<name>"
	Event string `json:"event"`
	// Recorded is the record's type: "transition" when the host machine
	// took the event, "ignored_observation" when no transition leaves the
	// host's state for it (the report is on record all the same); absent
	// for a heartbeat, which is not recorded.
	Recorded     string `json:"recorded,omitempty"`
	Seq          uint64 `json:"seq,omitempty"` // the record's global sequence in the log
	State        string `json:"state"`         // the host's state after the event
	BootProgress string `json:"boot_progress,omitempty"`
	// Rebooted: a crash or watchdog expiry made the coordinator reset the
	// host (auto-reboot, one boot attempt used).
	Rebooted bool   `json:"rebooted,omitempty"`
	Detail   string `json:"detail"`
}

// hostEvent answers statemgr.input.host.<host>: it checks the event
// against the host's input block, hands it to the host (a crash or
// watchdog expiry through the coordinator, for auto-reboot and its
// budget) and replies once the host's record is durable.
func (s *Server) hostEvent(ctx context.Context, c *call) (any, error) {
	req, derr := decode[HostInputRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	name, derr := inputName(c.subject, HostInputKind)
	if derr != nil {
		return nil, derr
	}
	host, derr := s.acceptedHostEvent(name, req)
	if derr != nil {
		return nil, derr
	}
	stage := ""
	if req.Event == machine.ObservedBootProgress {
		if stage, derr = bootProgress(req.Progress); derr != nil {
			return nil, derr
		}
	}
	id := actors.ID(actors.KindHost + "." + host.Name)
	if derr := s.reports.allow(id, s.cfg.Clock.Now()); derr != nil {
		return nil, derr
	}
	if req.Event == platform.HostEventHeartbeat {
		return s.heartbeat(ctx, id, host.Input.Heartbeat)
	}
	by := s.reporter(c)
	cause := "reported on " + c.subject
	if by != inputs.ReportedByAny {
		cause += " by " + by
	}
	if req.Message != "" {
		cause += ": " + req.Message
	}
	askCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	var out *protoactor.Outcome
	var rebooted bool
	var err error
	switch req.Event {
	case machine.ObservedWatchdogExpired, machine.ObservedHostCrash:
		rebooted, out, err = s.cfg.Operations.ReportCrash(askCtx, id, coordinator.Crash{
			Watchdog: req.Event == machine.ObservedWatchdogExpired, Requester: by, Cause: cause})
	default:
		out, err = s.cfg.System.Request(askCtx, id, machine.Input{Kind: machine.KindObservation, Trigger: req.Event,
			Value: stage, Requester: by, Cause: cause})
	}
	if err != nil {
		return nil, err
	}
	if host.Input.Heartbeat > 0 {
		s.beats.arm(id, host.Input.Heartbeat)
	}
	s.views.update(out.View)
	reply := HostInputReply{Host: string(id), Event: req.Event, State: out.View.Status.State,
		BootProgress: out.View.Status.BootProgress, Rebooted: rebooted}
	for _, e := range out.Stored {
		rec, err := actors.DecodeRecord(e)
		if err == nil && rec.Event.Trigger == req.Event {
			reply.Recorded, reply.Seq = string(rec.Event.Type), e.GlobalSeq
			reply.Detail = rec.Event.Cause
			if rec.Event.Type == machine.EventIgnored {
				reply.Detail = rec.Event.Message + " (" + rec.Event.Cause + ")"
			}
			break
		}
	}
	return reply, nil
}

// heartbeat re-arms host id's heartbeat watchdog for d; nothing is
// recorded.
func (s *Server) heartbeat(ctx context.Context, id actors.ID, d time.Duration) (any, error) {
	s.beats.arm(id, d)
	askCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	v, err := s.cfg.System.Get(askCtx, id)
	if err != nil {
		return nil, err
	}
	return HostInputReply{Host: string(id), Event: platform.HostEventHeartbeat, State: v.Status.State, BootProgress: v.Status.BootProgress,
		Detail: fmt.Sprintf("heartbeat kept: the next event is due within %v while the host runs (nothing recorded)", d)}, nil
}

// acceptedHostEvent returns the platform's host name if its input block
// accepts req's event, or the typed refusal saying what to do.
func (s *Server) acceptedHostEvent(name string, req HostInputRequest) (platform.Host, *Error) {
	i := slices.IndexFunc(s.cfg.Platform.Hosts, func(h platform.Host) bool { return h.Name == name })
	if i < 0 {
		names := make([]string, len(s.cfg.Platform.Hosts))
		for j, h := range s.cfg.Platform.Hosts {
			names[j] = h.Name
		}
		return platform.Host{}, newError(ErrUnknownHostInput, "no host %q in the platform file: its hosts are %s", name, strings.Join(names, ", "))
	}
	host := s.cfg.Platform.Hosts[i]
	switch {
	case req.Event == "":
		return host, newError(ErrBadHostEvent, `a host event needs "event": one of %s`, strings.Join(platform.HostEvents, ", "))
	case !slices.Contains(platform.HostEvents, req.Event) && req.Event != platform.HostEventHeartbeat:
		return host, newError(ErrBadHostEvent, "%s is not a host event: send one of %s, or %s", excerpt([]byte(req.Event)), strings.Join(platform.HostEvents, ", "), platform.HostEventHeartbeat)
	case req.Progress != "" && req.Event != machine.ObservedBootProgress:
		return host, newError(ErrBadHostEvent, `"progress" goes only with event %s, not %s`, machine.ObservedBootProgress, req.Event)
	case len(req.Message) > inputs.MaxText:
		return host, newError(ErrBadHostEvent, `"message" is %d bytes, at most %d`, len(req.Message), inputs.MaxText)
	case req.Event == platform.HostEventHeartbeat && (host.Input == nil || host.Input.Heartbeat == 0):
		return host, newError(ErrHostEventNotAccepted, `host %q has no heartbeat to keep: add heartbeat = "30s" (with "watchdog_expired" among its events) to its input block, or send only host events`, name)
	case req.Event == platform.HostEventHeartbeat:
	case host.Input == nil:
		return host, newError(ErrHostEventNotAccepted, `host %q takes no events from outside: its host block has no input block; add input { events = ["%s"] } to it (docs/PORTING.md, Host health sources)`, name, req.Event)
	case !host.Input.Accepts(req.Event):
		return host, newError(ErrHostEventNotAccepted, "host %q does not take %s from outside: its input block accepts %s; add %s to its events if this source should report it",
			name, req.Event, strings.Join(host.Input.Events, ", "), req.Event)
	}
	return host, nil
}

// bootProgress reads a boot_progress event's stage.
func bootProgress(progress string) (string, *Error) {
	if progress == "" {
		return "", newError(ErrBadHostEvent, `a %s event needs "progress": an OpenBMC stage such as "PCIInit" or a Redfish BootProgress.LastState such as "OSBootStarted"`, machine.ObservedBootProgress)
	}
	stage, err := machine.ParseBootProgress(progress)
	if err != nil {
		return "", &Error{Kind: ErrBadHostEvent, Message: err.Error(), Err: err}
	}
	return stage, nil
}
