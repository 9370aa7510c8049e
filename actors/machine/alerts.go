package machine

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Thresholds configure CheckAlerts.
type Thresholds struct {
	// Error is how long a machine may stay in an error state.
	Error time.Duration
	// States limits the time in named states, e.g. Starting 10m.
	States map[string]time.Duration
	// ThrashTransitions is how many state changes within ThrashWindow are
	// still normal; one more is thrashing.
	ThrashTransitions int
	ThrashWindow      time.Duration
}

// DefaultThresholds returns 5 minutes in an error state, 10 minutes in
// Starting, 2 minutes in Stopping, and more than 10 state changes within
// 10 minutes.
func DefaultThresholds() Thresholds {
	return Thresholds{
		Error:             5 * time.Minute,
		States:            map[string]time.Duration{StateStarting: 10 * time.Minute, StateStopping: 2 * time.Minute},
		ThrashTransitions: 10,
		ThrashWindow:      10 * time.Minute,
	}
}

// CheckAlerts returns the alert events that hold for st at now. It is
// pure, and it reports a standing condition every time it is called, with
// the same Key: the shell appends an alert only for a key it has not
// reported yet. A zero threshold disables its check.
//
// history holds the times of the machine's recent state changes (the Time
// of transition events whose From differs from To), in any order; times
// outside the window are ignored, so the shell may keep a generous tail.
func CheckAlerts(c *Compiled, st Status, history []time.Time, now time.Time, th Thresholds) []Event {
	var alerts []Event
	raise := func(kind AlertKind, key, format string, args ...any) {
		alerts = append(alerts, Event{
			Type: EventAlert, Machine: c.kind, State: st.State, Time: now,
			Alert: kind, Key: key, Message: fmt.Sprintf(format, args...),
		})
	}
	in := now.Sub(st.Since)
	if cs, ok := c.states[st.State]; ok && cs.Kind == ErrorKind && th.Error > 0 && in >= th.Error {
		raise(AlertStuckInError, alertKey(AlertStuckInError, fmt.Sprintf("%s:%d", st.State, st.Since.UnixNano())),
			"%s has been in error state %s for %s (limit %s): %s", c.kind, st.State, in, th.Error, st.Cause)
	}
	if limit := th.States[st.State]; limit > 0 && in >= limit {
		raise(AlertSlowState, alertKey(AlertSlowState, fmt.Sprintf("%s:%d", st.State, st.Since.UnixNano())),
			"%s has been in %s for %s (limit %s)", c.kind, st.State, in, limit)
	}
	if th.ThrashTransitions > 0 && th.ThrashWindow > 0 {
		from := now.Add(-th.ThrashWindow)
		n := 0
		for _, t := range history {
			if t.After(from) && !t.After(now) {
				n++
			}
		}
		if n > th.ThrashTransitions {
			// One key per window-sized bucket: a machine that keeps
			// thrashing is reported once per window, not once per check.
			bucket := now.Truncate(th.ThrashWindow)
			raise(AlertThrashing, alertKey(AlertThrashing, fmt.Sprint(bucket.UnixNano())),
				"%s changed state %d times within %s (limit %d)", c.kind, n, th.ThrashWindow, th.ThrashTransitions)
		}
	}
	return alerts
}

// alertKey is the Key of a standing alert: its kind first, so that
// AlertKindOf can tell the kind from the key alone (the component shell
// keeps only keys).
func alertKey(kind AlertKind, condition string) string { return string(kind) + ":" + condition }

// AlertKindOf returns the kind of the standing alert whose Key is key.
// An alert raised by a transition has no key (the component shell keeps it
// standing until its next step): AlertTransition.
func AlertKindOf(key string) AlertKind {
	if key == "" {
		return AlertTransition
	}
	kind, _, _ := strings.Cut(key, ":")
	return AlertKind(kind)
}

// NextAlertCheck returns the earliest time after now at which CheckAlerts
// could raise a time-in-state alert it does not raise at now, so the shell
// can schedule a check instead of polling; false if none can come due.
func NextAlertCheck(c *Compiled, st Status, now time.Time, th Thresholds) (time.Time, bool) {
	var limits []time.Duration
	if cs, ok := c.states[st.State]; ok && cs.Kind == ErrorKind && th.Error > 0 {
		limits = append(limits, th.Error)
	}
	if limit := th.States[st.State]; limit > 0 {
		limits = append(limits, limit)
	}
	var next []time.Time
	for _, l := range limits {
		if at := st.Since.Add(l); at.After(now) {
			next = append(next, at)
		}
	}
	if len(next) == 0 {
		return time.Time{}, false
	}
	return slices.MinFunc(next, func(a, b time.Time) int { return a.Compare(b) }), true
}
