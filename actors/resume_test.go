package actors_test

import (
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
)

// Ensure each recovered service state, with its old process gone, still
// being stopped, or unkillable, gets the input the contract names, that
// the input carries the cleanup's evidence, and that the machine then
// lands where the contract says (never Error unless the process survived).
func TestResumeService(t *testing.T) {
	byOperator := &machine.Request{Name: machine.RequestStop, Requester: "alice"}
	byDaemon := &machine.Request{Name: machine.RequestStop, Requester: actors.DaemonRequester}
	gone := actors.Leftover{Evidence: "pid 42: gone"}
	stopping := actors.Leftover{Stopping: true, Evidence: "pid 42: SIGTERM sent"}
	survived := actors.Leftover{Survived: true, Evidence: "pid 42: unkillable"}
	for _, tc := range []struct {
		name      string
		st        machine.Status
		left      actors.Leftover
		trigger   string // "" when left alone
		startProc bool
		lands     string // the state the input takes the machine to
	}{
		{"running: process lost", machine.Status{State: machine.StateRunning}, gone, machine.ObservedStopped, true, machine.StateRestarting},
		{"starting: process lost", machine.Status{State: machine.StateStarting}, gone, machine.ObservedStopped, true, machine.StateRestarting},
		{"restarting: the process is gone, started by the machine", machine.Status{State: machine.StateRestarting}, gone, machine.ObservedStopped, false, machine.StateStarting},
		{"never stopped: started", machine.Status{State: machine.StateStopped}, gone, machine.RequestStart, false, machine.StateStarting},
		{"stopped by the daemon: started again", machine.Status{State: machine.StateStopped, Requested: byDaemon}, gone, machine.RequestStart, false, machine.StateStarting},
		{"stopped by an operator: left stopped", machine.Status{State: machine.StateStopped, Requested: byOperator}, gone, "", false, ""},
		{"stopping: the process is gone, the stop is complete", machine.Status{State: machine.StateStopping, Requested: byOperator}, gone, machine.ObservedStopped, false, machine.StateStopped},
		{"in error: left for an operator", machine.Status{State: machine.StateError}, gone, "", false, ""},

		{"running, old process being stopped: restarting, not started yet", machine.Status{State: machine.StateRunning}, stopping, machine.ObservedStopped, false, machine.StateRestarting},
		{"stopping, old process being stopped: stays stopping", machine.Status{State: machine.StateStopping, Requested: byOperator}, stopping, "", false, ""},
		{"restarting, old process being stopped: stays restarting", machine.Status{State: machine.StateRestarting}, stopping, "", false, ""},
		{"stopped by the daemon, old process being stopped: not started yet", machine.Status{State: machine.StateStopped, Requested: byDaemon}, stopping, "", false, ""},

		{"stopping, process survived SIGKILL: error", machine.Status{State: machine.StateStopping, Requested: byOperator}, survived, machine.ObservedStopFailed, false, machine.StateError},
		{"restarting, process survived SIGKILL: error", machine.Status{State: machine.StateRestarting}, survived, machine.ObservedStopFailed, false, machine.StateError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, start := actors.ResumeService(tc.st, tc.left)
			switch {
			case tc.trigger == "" && in != nil:
				t.Fatalf("input %+v, want none", in)
			case tc.trigger != "" && (in == nil || in.Trigger != tc.trigger):
				t.Fatalf("input %+v, want %s", in, tc.trigger)
			case in != nil && in.Kind == machine.KindObservation && !strings.Contains(in.Cause, tc.left.Evidence):
				t.Fatalf("cause %q does not carry the evidence", in.Cause)
			case start != tc.startProc:
				t.Fatalf("start process %v, want %v", start, tc.startProc)
			}
			if in == nil {
				return
			}
			m := serviceMachine(t)
			next, _, _, err := machine.Step(m, tc.st, *in, tc.st.Since)
			if err != nil || next.State != tc.lands {
				t.Fatalf("the input takes the machine to %s (%v), want %s", next.State, err, tc.lands)
			}
		})
	}
}

// serviceMachine is a service machine as the platform compiles it.
func serviceMachine(t *testing.T) *machine.Compiled {
	t.Helper()
	comps, err := platform.Default().Components()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range comps {
		if c.Machine.Kind == machine.KindService {
			m, err := machine.Compile(c.Machine)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatal("the default platform has no service")
	return nil
}
