package machine

import (
	"fmt"
	"strings"
	"time"
)

// ServiceCode is the four-value view of a service that dashboards and the
// BMC's service list show.
type ServiceCode string

// Service codes.
const (
	// CodeEnabled: the service runs or is on its way up (Running, Starting,
	// Restarting, and any extension state that is not an error).
	CodeEnabled ServiceCode = "ENABLED"
	// CodeDisabled: someone asked the service to stop (Stopping, or Stopped
	// after a Stop request).
	CodeDisabled ServiceCode = "DISABLED"
	// CodeError: the service is in an error state.
	CodeError ServiceCode = "ERROR"
	// CodeStopped: the service is not running and nobody asked it to stop:
	// never started, or reset after an error.
	CodeStopped ServiceCode = "STOPPED"
)

// failureAdvice says how to resolve a failure, by Failure.What.
var failureAdvice = map[string]string{
	"initialization": "fix what made initialization fail (see the cause and the service log), then request Reset and Start",
	"runtime":        "check the service log for the crash, then request Reset and Start",
	"start":          "the service did not finish starting in time: check what it waits for, then request Reset and Start",
	"stop":           "the process may still be running: request Reset, which stops it by force, then Start",
}

// Code returns the four-value code of a service status and an extended
// status line. It combines the process's state and the service's own
// report: not running is STOPPED (or DISABLED when someone asked for it),
// a failed process is ERROR, running with no report is ENABLED, running
// with a report is the report. In ERROR the line says what failed, why, since when, and how
// to resolve it, e.g. "initialization failed: exit status 3 (since
// 2026-11-22T00:40:00Z); to resolve: fix what made ... then request Reset
// and Start (allowed: Reset)", the allowed requests evaluated with facts.
func Code(c *Compiled, st Status, facts Facts) (ServiceCode, string) {
	cs, ok := c.states[st.State]
	switch {
	case !ok:
		return CodeError, fmt.Sprintf("unknown state %q; the service definition changed under a saved status", st.State)
	case cs.Kind == ErrorKind:
		return CodeError, errorLine(c, st, facts)
	case st.State == StateStopping:
		return CodeDisabled, fmt.Sprintf("stopping since %s", stamp(st.Since))
	case st.State == StateStopped:
		if r := st.Requested; r != nil && r.Name == RequestStop {
			return CodeDisabled, fmt.Sprintf("stopped by request %s%s at %s", r.Name, by(r.Requester), stamp(st.Since))
		}
		if r := st.Requested; r != nil && r.Name == RequestReset {
			return CodeStopped, fmt.Sprintf("stopped after %s%s at %s; request Start to run it", r.Name, by(r.Requester), stamp(st.Since))
		}
		return CodeStopped, "not started; request Start to run it"
	case st.State == StateRunning && st.Report != nil && !st.Report.Time.Before(st.Since):
		// Running with a report: the service's own word, which only it
		// can give (a process can run and still be unusable).
		line := st.Report.Status
		if line == "" {
			line = "reported by the service"
		}
		return st.Report.Code, fmt.Sprintf("%s (reported %s)", line, stamp(st.Report.Time))
	default:
		return CodeEnabled, fmt.Sprintf("%s since %s", st.State, stamp(st.Since))
	}
}

func errorLine(c *Compiled, st Status, facts Facts) string {
	allowed := strings.Join(Allowed(c, st, facts), ", ")
	if allowed == "" {
		allowed = "none"
	}
	f := st.Failure
	if f == nil {
		return fmt.Sprintf("in %s since %s (%s); to resolve: request one of the allowed requests (allowed: %s)", st.State, stamp(st.Since), st.Cause, allowed)
	}
	advice, ok := failureAdvice[f.What]
	if !ok {
		advice = "fix the cause, then request Reset"
	}
	return fmt.Sprintf("%s failed: %s (since %s); to resolve: %s (allowed: %s)", f.What, f.Cause, stamp(f.Time), advice, allowed)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func by(requester string) string {
	if requester == "" {
		return ""
	}
	return " from " + requester
}
