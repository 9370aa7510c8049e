package process

import (
	"time"

	"github.com/statemgr/statemgr/actors/machine"
)

// Reasons: the short, stable Observation.Reason (and machine.Input.Value)
// that says why the supervisor reported what it reported.
const (
	ReasonReady      = "ready"      // initialized: readiness reached
	ReasonExited     = "exited"     // the process exited by itself
	ReasonSignaled   = "signaled"   // the process was killed by a signal it was not sent by the supervisor
	ReasonSpawn      = "spawn"      // the process could not be started
	ReasonReadiness  = "readiness"  // readiness not reached within its bound
	ReasonLiveness   = "liveness"   // the liveness check failed Threshold times in a row
	ReasonReport     = "report"     // the service reported that it failed while starting
	ReasonThrashing  = "thrashing"  // the start limit was hit: no more restarts until reset
	ReasonStopped    = "stopped"    // stopped on its stop signal
	ReasonKilled     = "killed"     // stopped, but only by SIGKILL after the stop timeout
	ReasonUnkillable = "unkillable" // the process group survived SIGKILL
)

// Observation is one fact the supervisor reports about its service, in
// the terms of the service machine (Trigger is one of machine.Observed*),
// with the details that make up the transition's cause.
type Observation struct {
	Service   string
	Trigger   string        // machine.ObservedInitialized, ...InitializationFailed, ...RuntimeError, ...StopFailed, ...Stopped
	Reason    string        // one of the Reason constants
	Cause     string        // human-readable: what happened, exit code or signal, check and its output, last output lines
	Exit      *ExitStatus   // how the process ended, when it did
	Check     *CheckResult  // the check that decided, when one did
	Output    []string      // the last lines of output, when the process ended or failed
	Restart   bool          // the supervisor will start the service again...
	RestartIn time.Duration // ...after this delay
}

// Input returns the observation as an input of the service machine; the
// reason goes in Value.
// Restart becomes the restart_pending fact, which takes the service machine
// to Restarting instead of Error.
func (o Observation) Input() machine.Input {
	in := machine.Input{Kind: machine.KindObservation, Trigger: o.Trigger, Cause: o.Cause, Value: o.Reason}
	if o.Restart {
		in.Facts = machine.Facts{"restart_pending": true}
	}
	return in
}
