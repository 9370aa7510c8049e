package actors

import "github.com/statemgr/statemgr/actors/machine"

// DaemonRequester names statemgrd as the requester of what it asks for
// itself (starting services with the daemon, stopping them at shutdown).
const DaemonRequester = "statemgrd"

// ResumeService decides what a starting daemon does with a service whose
// recovered status is st. A service the log shows running (or starting,
// or restarting) lost its process with the previous daemon: that is
// recorded with its evidence, taking the machine to Restarting, and the
// process must be started again (startProcess). A service never asked to
// stop, or stopped by the daemon at its last shutdown, is started through
// its machine. A service left Stopping was being stopped when the previous
// daemon died; the startup cleanup has since ended its process, so the
// stop is complete: it is recorded as observed Stopped, with evidence (what
// the cleanup found of the process) in the cause, rather than left to time
// out into Error. A service an operator stopped, or one in Error, stays as
// the log has it: in is nil.
func ResumeService(st machine.Status, evidence string) (in *machine.Input, startProcess bool) {
	switch {
	case st.State == machine.StateStopping:
		return &machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedStopped,
			Cause: "reconciliation at startup: the stop asked of the previous daemon is complete: " + evidence}, false
	case st.State == machine.StateRunning || st.State == machine.StateStarting || st.State == machine.StateRestarting:
		lost := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedStopped, Facts: machine.Facts{"restart_pending": true},
			Cause: "reconciliation at startup: the process of the previous daemon is gone; starting it again"}
		if st.State == machine.StateRestarting {
			lost.Trigger = machine.ObservedInitializationFailed
		}
		return &lost, true
	case st.State == machine.StateStopped && (st.Requested == nil || st.Requested.Requester == DaemonRequester):
		return &machine.Input{Kind: machine.KindRequest, Trigger: machine.RequestStart, Requester: DaemonRequester, Cause: "started with the daemon"}, false
	}
	return nil, false
}
