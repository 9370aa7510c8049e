package actors

import "github.com/statemgr/statemgr/actors/machine"

// DaemonRequester names statemgrd as the requester of what it asks for
// itself (starting services with the daemon, stopping them at shutdown).
const DaemonRequester = "statemgrd"

// Leftover is what the startup cleanup knows of the process a previous
// daemon left of a service.
type Leftover struct {
	// Stopping: the cleanup is still stopping it. ResumeService is asked
	// again once the cleanup has ended.
	Stopping bool
	// Survived: something of its process group survived SIGKILL.
	Survived bool
	// Evidence says what the cleanup found and did: pid, group, outcome.
	Evidence string
}

// ResumeService decides what a starting daemon does with a service whose
// recovered status is st, given what is left of its previous process.
//
// While the startup cleanup is still stopping that process, a service the
// log shows running (or starting) is recorded as having lost it, with the
// evidence, taking the machine to Restarting: it starts again once its old
// process is gone. A service left Stopping or Restarting stays so: the
// stop it was in is what the cleanup is finishing. Nothing is started.
//
// Once the process is gone: a service left Stopping was being stopped when
// the previous daemon died; the stop is complete: it is recorded as
// observed Stopped, with the evidence in the cause. One left Restarting is
// observed stopped too, which starts it (the machine's start_process). One
// the log shows running (or starting) lost its process: that is recorded,
// taking the machine to Restarting, and the process must be started again
// (startProcess). A service never asked to stop, or stopped by the daemon
// at its last shutdown, is started through its machine.
//
// A process that survived SIGKILL is recorded as a failed stop (Error,
// from Stopping or Restarting), with the evidence; nothing is started.
//
// A service an operator stopped, or one in Error, stays as the log has
// it: in is nil.
func ResumeService(st machine.Status, left Leftover) (in *machine.Input, startProcess bool) {
	observe := func(trigger, cause string) *machine.Input {
		return &machine.Input{Kind: machine.KindObservation, Trigger: trigger, Cause: "reconciliation at startup: " + cause + ": " + left.Evidence}
	}
	lost := st.State == machine.StateRunning || st.State == machine.StateStarting
	switch {
	case left.Survived:
		return observe(machine.ObservedStopFailed, "the process of the previous daemon survived SIGKILL"), false
	case left.Stopping && lost:
		in := observe(machine.ObservedStopped, "the process of the previous daemon is being stopped; it starts again once gone")
		in.Facts = machine.Facts{"restart_pending": true}
		return in, false
	case left.Stopping:
		return nil, false
	case st.State == machine.StateStopping:
		return observe(machine.ObservedStopped, "the stop asked of the previous daemon is complete"), false
	case st.State == machine.StateRestarting:
		return observe(machine.ObservedStopped, "the process of the previous daemon is gone; starting it again"), false
	case lost:
		in := observe(machine.ObservedStopped, "the process of the previous daemon is gone; starting it again")
		in.Facts = machine.Facts{"restart_pending": true}
		return in, true
	case st.State == machine.StateStopped && (st.Requested == nil || st.Requested.Requester == DaemonRequester):
		return &machine.Input{Kind: machine.KindRequest, Trigger: machine.RequestStart, Requester: DaemonRequester, Cause: "started with the daemon"}, false
	}
	return nil, false
}
