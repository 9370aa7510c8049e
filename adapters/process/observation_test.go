package process

import (
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/machine"
)

// TestObservationDrivesTheServiceMachine checks that what the supervisor
// reports moves the built-in service machine as its policy says: a crash
// it will restart goes to Restarting and back to Running, a crash it will
// not restart goes to Error.
func TestObservationDrivesTheServiceMachine(t *testing.T) {
	c, err := machine.Compile(machine.Service(machine.DefaultServiceConfig()))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	st := machine.Status{State: machine.StateRunning, Since: now}
	step := func(o Observation, want string) {
		t.Helper()
		var err error
		if st, _, _, err = machine.Step(c, st, o.Input(), now); err != nil || st.State != want {
			t.Fatalf("%s (restart %v): %s, %v; want %s", o.Trigger, o.Restart, st.State, err, want)
		}
	}
	step(Observation{Trigger: machine.ObservedRuntimeError, Cause: "exit code 2", Restart: true, RestartIn: time.Second}, machine.StateRestarting)
	step(Observation{Trigger: machine.ObservedInitializationFailed, Cause: "exit code 3", Restart: true}, machine.StateRestarting)
	step(Observation{Trigger: machine.ObservedInitialized}, machine.StateRunning)
	step(Observation{Trigger: machine.ObservedRuntimeError, Cause: "thrashing"}, machine.StateError)
}
