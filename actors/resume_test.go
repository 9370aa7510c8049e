package actors_test

import (
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
)

func TestResumeService(t *testing.T) {
	byOperator := &machine.Request{Name: machine.RequestStop, Requester: "alice"}
	byDaemon := &machine.Request{Name: machine.RequestStop, Requester: actors.DaemonRequester}
	for _, tc := range []struct {
		name      string
		st        machine.Status
		trigger   string // "" when left alone
		startProc bool
	}{
		{"running: process lost", machine.Status{State: machine.StateRunning}, machine.ObservedStopped, true},
		{"starting: process lost", machine.Status{State: machine.StateStarting}, machine.ObservedStopped, true},
		{"restarting: the restart failed", machine.Status{State: machine.StateRestarting}, machine.ObservedInitializationFailed, true},
		{"never stopped: started", machine.Status{State: machine.StateStopped}, machine.RequestStart, false},
		{"stopped by the daemon: started again", machine.Status{State: machine.StateStopped, Requested: byDaemon}, machine.RequestStart, false},
		{"stopped by an operator: left stopped", machine.Status{State: machine.StateStopped, Requested: byOperator}, "", false},
		{"stopping: the process is gone, the stop is complete", machine.Status{State: machine.StateStopping, Requested: byOperator}, machine.ObservedStopped, false},
		{"in error: left for an operator", machine.Status{State: machine.StateError}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, start := actors.ResumeService(tc.st, "pid 42: gone")
			switch {
			case tc.trigger == "" && in != nil:
				t.Fatalf("input %+v, want none", in)
			case tc.trigger != "" && (in == nil || in.Trigger != tc.trigger):
				t.Fatalf("input %+v, want %s", in, tc.trigger)
			case tc.st.State == machine.StateStopping && !strings.Contains(in.Cause, "pid 42: gone"):
				t.Fatalf("cause %q does not carry the evidence", in.Cause)
			case start != tc.startProc:
				t.Fatalf("start process %v, want %v", start, tc.startProc)
			}
		})
	}
}
