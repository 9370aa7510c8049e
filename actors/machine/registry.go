package machine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A guard is a pure function of the status and the input. Machines name
// guards; this registry is the only place names become code, so that a
// platform file can use a guard without code and Validate can reject a name
// that does not exist.
type guardSpec struct {
	holds func(st Status, in Input) bool
	// whenFalse and whenTrue explain a rejection when the guard (or its
	// negation) blocked a request; hintFalse and hintTrue say what to do.
	whenFalse, hintFalse string
	whenTrue, hintTrue   string
	// capability marks a fact about what the platform can do at all: a
	// request it blocks is not refused for now but for good, and the
	// RejectedError names the capability.
	capability bool
}

// factGuard reads one of the caller's facts.
func factGuard(fact, whenFalse, hintFalse, whenTrue, hintTrue string) guardSpec {
	return guardSpec{
		holds:     func(_ Status, in Input) bool { return in.Facts[fact] },
		whenFalse: whenFalse, hintFalse: hintFalse,
		whenTrue: whenTrue, hintTrue: hintTrue,
	}
}

// capabilityGuard reads a fact about what the platform can do; its
// negation is never a useful guard, so it explains only the fact missing.
func capabilityGuard(fact, whenFalse, hintFalse string) guardSpec {
	g := factGuard(fact, whenFalse, hintFalse, "the platform can do it", "this guard is not meant to be negated")
	g.capability = true
	return g
}

var guardRegistry = map[string]guardSpec{
	"chassis_on": factGuard("chassis_on",
		"the chassis is not On", "power the chassis on first",
		"the chassis is On", "power the chassis off first"),
	"bmc_ready": factGuard("bmc_ready",
		"the BMC is not Ready", "wait for the BMC to become Ready",
		"the BMC is Ready", "retry when the BMC is not Ready"),
	"hosts_off": factGuard("hosts_off",
		"a host of this chassis is not Off", "shut the hosts down first",
		"every host of this chassis is Off", "power a host on first"),
	"firmware_update_in_progress": factGuard("firmware_update_in_progress",
		"no firmware update is in progress", "start a firmware update first",
		"a firmware update is in progress", "wait for the update to finish"),
	"auto_reboot": factGuard("auto_reboot",
		"automatic reboot is disabled or its attempts are used up", "enable automatic reboot",
		"automatic reboot is enabled", "disable automatic reboot"),
	"bmc_reset_available": capabilityGuard("bmc_reset_available",
		"this platform gives statemgrd no way to reset the BMC (its platform file has no bmc reset)",
		`reset the BMC out of band (its power, or its own console), or set reset in the platform file's bmc block`),
	"restart_pending": factGuard("restart_pending",
		"the supervisor will not restart the service (policy never, or start limit reached)", "fix the service, then Reset it",
		"the supervisor restarts the service by its policy", "Stop the service to end the restarts"),
	"restart_requested": {
		holds:     restartRequested,
		whenFalse: "the request in flight does not ask for a restart", hintFalse: "request GracefulRestart or PowerCycle",
		whenTrue: "the request in flight asks for a restart", hintTrue: "request ForceOff to cancel the restart",
	},
	"power_status_good": {
		holds:     powerStatusGood,
		whenFalse: "the chassis input power is not good (BrownOut or UninterruptiblePowerSupply)", hintFalse: "wait for input power to recover",
		whenTrue: "the chassis input power is good", hintTrue: "retry when input power is degraded",
	},
}

// restartRequested holds when the request that led into the current state
// asks for the machine to come back on. Requiring the request to be at
// least as recent as the state keeps an old GracefulRestart from turning a
// later OS-initiated shutdown into a power-on.
func restartRequested(st Status, _ Input) bool {
	r := st.Requested
	if r == nil || r.Time.Before(st.Since) {
		return false
	}
	switch r.Name {
	case RequestGracefulRestart, RequestPowerCycle:
		return true
	}
	return false
}

// powerStatusGood lets a chassis power on unless its input power is known to
// be degraded; an Undefined status (no sensor) does not block, as in
// phosphor-state-manager.
func powerStatusGood(st Status, _ Input) bool {
	return st.PowerStatus != PowerStatusBrownOut && st.PowerStatus != PowerStatusUninterruptiblePowerSupply
}

// guardRef is a parsed guard name: "name" or "!name".
type guardRef struct {
	name   string
	negate bool
	spec   guardSpec
}

func (g guardRef) String() string {
	if g.negate {
		return "!" + g.name
	}
	return g.name
}

func (g guardRef) holds(st Status, in Input) bool { return g.spec.holds(st, in) != g.negate }

// explain says why the guard blocked and what to do about it.
func (g guardRef) explain() (reason, hint string) {
	if g.negate {
		return fmt.Sprintf("guard %s does not hold: %s", g, g.spec.whenTrue), g.spec.hintTrue
	}
	return fmt.Sprintf("guard %s does not hold: %s", g, g.spec.whenFalse), g.spec.hintFalse
}

func parseGuard(ref string) (guardRef, error) {
	name, negate := strings.CutPrefix(ref, "!")
	spec, ok := guardRegistry[name]
	if !ok {
		return guardRef{}, fmt.Errorf("unknown guard %q (known: %s)", name, strings.Join(sortedKeys(guardRegistry), ", "))
	}
	return guardRef{name: name, negate: negate, spec: spec}, nil
}

// Effects are named the same way. An effect either changes the status, in
// which case Step applies it (apply != nil), or asks the shell to act, in
// which case Step returns it as an Effect. Parameters come from the machine
// data, written "name(key=value, ...)", so a platform file can tune a hold
// time without code. Values end at the next comma, so they cannot hold one.
type effectSpec struct {
	params map[string]paramSpec
	// apply performs a status effect; nil for the shell's effects.
	apply func(st *Status, params map[string]string, in Input, now time.Time) error
	// valueParam names the parameter that, when present, replaces
	// Input.Value for a recording effect; "" if the effect reads no value.
	valueParam string
	// alerts makes Step also log an alert event for the effect.
	alerts bool
}

type paramKind int

const (
	paramText paramKind = iota
	paramDuration
	paramBool
	paramEnum
)

type paramSpec struct {
	kind     paramKind
	required bool
	values   map[string]bool // for paramEnum
}

var (
	durationParam    = paramSpec{kind: paramDuration}
	requiredDuration = paramSpec{kind: paramDuration, required: true}
	boolParam        = paramSpec{kind: paramBool}
)

var effectRegistry = map[string]effectSpec{
	// Host power control, as x86-power-control drives POWER_OUT, RESET_OUT
	// and NMI_OUT. delay postpones the action (the off time of a cycle).
	"press_power_button": {params: map[string]paramSpec{"duration": requiredDuration, "delay": durationParam}},
	"hold_power_button":  {params: map[string]paramSpec{"duration": requiredDuration}},
	"pulse_reset":        {params: map[string]paramSpec{"duration": requiredDuration}},
	"nmi":                {},
	// Chassis power sequencing (sequencer GPIO or PMBus OPERATION).
	"sequence_power_on":  {params: map[string]paramSpec{"delay": durationParam}},
	"sequence_power_off": {},
	// BMC and services.
	"reboot_bmc":    {params: map[string]paramSpec{"force": boolParam}},
	"start_process": {},
	"stop_process":  {params: map[string]paramSpec{"force": boolParam}},
	"alert":         {params: map[string]paramSpec{"reason": {kind: paramText, required: true}}, alerts: true},

	// Status effects.
	"record_boot_progress": {
		params:     map[string]paramSpec{"stage": {kind: paramEnum, values: bootProgressStages}},
		valueParam: "stage",
		apply: func(st *Status, p map[string]string, in Input, _ time.Time) error {
			v, err := recordedValue("boot progress stage", p["stage"], in.Value, "", bootProgressStages)
			if err != nil {
				return err
			}
			st.BootProgress = v
			return nil
		},
	},
	"reset_boot_progress": {
		apply: func(st *Status, _ map[string]string, _ Input, _ time.Time) error {
			st.BootProgress = BootProgressUnspecified
			return nil
		},
	},
	"record_report": {
		apply: func(st *Status, _ map[string]string, in Input, now time.Time) error {
			code, err := recordedValue("self-state", "", in.Value, "", reportCodes)
			if err != nil {
				return err
			}
			if code == string(CodeError) && in.Cause == "" {
				return fmt.Errorf("%w: a self-state of ERROR needs an extended status saying what failed and how to resolve it", ErrInvalidInput)
			}
			st.Report = &Report{Code: ServiceCode(code), Status: in.Cause, Time: now}
			return nil
		},
	},
	"record_unsupported": {
		apply: func(st *Status, _ map[string]string, in Input, _ time.Time) error {
			action, err := recordedValue("control action", "", in.Value, "", controlActions)
			if err != nil {
				return err
			}
			u := Unsupported{}
			if st.Unsupported != nil {
				u = *st.Unsupported
			}
			if action == "enable" {
				u.Enable = true
			} else {
				u.Disable = true
			}
			st.Unsupported = &u
			return nil
		},
	},
	"record_power_status": {
		params:     map[string]paramSpec{"status": {kind: paramEnum, values: powerStatuses}},
		valueParam: "status",
		apply: func(st *Status, p map[string]string, in Input, _ time.Time) error {
			v, err := recordedValue("power status", p["status"], in.Value, "", powerStatuses)
			if err != nil {
				return err
			}
			st.PowerStatus = v
			return nil
		},
	},
	"record_reboot_cause": {
		params:     map[string]paramSpec{"cause": {kind: paramEnum, values: rebootCauses}},
		valueParam: "cause",
		apply: func(st *Status, p map[string]string, in Input, _ time.Time) error {
			v, err := recordedValue("reboot cause", p["cause"], in.Value, RebootCauseUnknown, rebootCauses)
			if err != nil {
				return err
			}
			st.LastRebootCause = v
			return nil
		},
	},
	"record_failure": {
		params: map[string]paramSpec{"what": {kind: paramText, required: true}},
		apply: func(st *Status, p map[string]string, in Input, now time.Time) error {
			cause := in.Cause
			if cause == "" {
				cause = "no cause reported"
			}
			st.Failure = &Failure{What: p["what"], Cause: cause, Time: now}
			return nil
		},
	},
	"clear_failure": {
		apply: func(st *Status, _ map[string]string, _ Input, _ time.Time) error {
			st.Failure = nil
			return nil
		},
	},
}

// recordedValue picks the parameter if the machine fixed one, else the
// observed value (or def when none was observed), and checks it.
func recordedValue(what, param, observed, def string, allowed map[string]bool) (string, error) {
	v := param
	if v == "" {
		v = observed
	}
	if v == "" {
		v = def
	}
	if !allowed[v] {
		return "", fmt.Errorf("%w: %s %q is not one of %s", ErrInvalidInput, what, v, strings.Join(sortedKeys(allowed), ", "))
	}
	return v, nil
}

// effectRef is a parsed effect: its name, its parameters and its spec.
type effectRef struct {
	name   string
	params map[string]string
	spec   effectSpec
}

// readsInputValue reports whether the effect records Input.Value, which a
// timeout (an input without a value) cannot supply.
func (e effectRef) readsInputValue() bool {
	return e.spec.valueParam != "" && e.params[e.spec.valueParam] == ""
}

// parseEffect parses "name" or "name(key=value, ...)" and checks the name
// and the parameters against the registry.
func parseEffect(ref string) (effectRef, error) {
	name, args, hasArgs := strings.Cut(ref, "(")
	name = strings.TrimSpace(name)
	spec, ok := effectRegistry[name]
	if !ok {
		return effectRef{}, fmt.Errorf("unknown effect %q (known: %s)", name, strings.Join(sortedKeys(effectRegistry), ", "))
	}
	params := map[string]string{}
	if hasArgs {
		body, closed := strings.CutSuffix(strings.TrimSpace(args), ")")
		if !closed {
			return effectRef{}, fmt.Errorf("effect %q: missing closing parenthesis", ref)
		}
		for kv := range strings.SplitSeq(body, ",") {
			if strings.TrimSpace(kv) == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" {
				return effectRef{}, fmt.Errorf("effect %q: parameter %q is not key=value", ref, strings.TrimSpace(kv))
			}
			if _, dup := params[k]; dup {
				return effectRef{}, fmt.Errorf("effect %q: parameter %q given twice", ref, k)
			}
			params[k] = v
		}
	}
	for k, v := range params {
		ps, ok := spec.params[k]
		if !ok {
			return effectRef{}, fmt.Errorf("effect %s has no parameter %q (known: %s)", name, k, strings.Join(sortedKeys(spec.params), ", "))
		}
		if err := ps.check(v); err != nil {
			return effectRef{}, fmt.Errorf("effect %s parameter %s: %w", name, k, err)
		}
	}
	for _, k := range sortedKeys(spec.params) {
		if _, given := params[k]; spec.params[k].required && !given {
			return effectRef{}, fmt.Errorf("effect %s needs parameter %q", name, k)
		}
	}
	if len(params) == 0 {
		params = nil
	}
	return effectRef{name: name, params: params, spec: spec}, nil
}

func (p paramSpec) check(v string) error {
	switch p.kind {
	case paramDuration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 200ms or 4s", v)
		}
		if d < 0 {
			return fmt.Errorf("duration %s is negative", v)
		}
	case paramBool:
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
	case paramEnum:
		if !p.values[v] {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(sortedKeys(p.values), ", "))
		}
	case paramText:
		if v == "" {
			return fmt.Errorf("empty value")
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// isRequestName reports whether trigger is spelled like a request:
// PascalCase ASCII letters and digits.
func isRequestName(trigger string) bool {
	if trigger == "" || trigger[0] < 'A' || trigger[0] > 'Z' {
		return false
	}
	for i := 1; i < len(trigger); i++ {
		c := trigger[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// isObservationName reports whether trigger is spelled like an observation:
// snake_case ASCII starting with a letter.
func isObservationName(trigger string) bool {
	if trigger == "" || trigger[0] < 'a' || trigger[0] > 'z' {
		return false
	}
	for i := 1; i < len(trigger); i++ {
		c := trigger[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
