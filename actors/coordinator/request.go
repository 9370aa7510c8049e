package coordinator

import (
	"fmt"
	"slices"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/saga"
)

// Kind is an operation the coordinator runs.
type Kind string

// Operations.
const (
	ChassisPowerOn    Kind = "chassis_power_on"
	ChassisPowerOff   Kind = "chassis_power_off"
	ChassisPowerCycle Kind = "chassis_power_cycle"
	// HostPowerOn takes ResetType On (default), ForceOn or PushPowerButton.
	HostPowerOn     Kind = "host_power_on"
	HostGracefulOff Kind = "host_graceful_off"
	HostForceOff    Kind = "host_force_off"
	// HostReset takes ResetType GracefulRestart, ForceRestart, PowerCycle,
	// Nmi, PushPowerButton or ForceOn.
	HostReset           Kind = "host_reset"
	BMCEnterMaintenance Kind = "bmc_enter_maintenance"
	BMCExitMaintenance  Kind = "bmc_exit_maintenance"
	// Emergency is started by Coordinator.Emergency only.
	Emergency Kind = "emergency"
)

// Role is the requester's role.
type Role string

// Roles.
const (
	RoleReadOnly Role = "readonly"
	RoleUser     Role = "user"
	RoleOperator Role = "operator"
)

// Request asks the coordinator for an operation.
type Request struct {
	Kind      Kind      `json:"kind"`
	Target    actors.ID `json:"target"`
	ResetType string    `json:"reset_type,omitempty"`
	// IdempotencyKey makes a retried request get the first one's
	// operation and outcome.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	Requester      string `json:"requester,omitempty"`
	Role           Role   `json:"role,omitempty"`
	// Override names interlocks to override; needs RoleOperator.
	Override []Interlock `json:"override,omitempty"`
	// Queue waits for a busy component instead of being refused.
	Queue bool `json:"queue,omitempty"`
	// PowerChassis makes a host power-on power its chassis on first if
	// needed, whatever Policy.HostOn says (the power-restore policy uses it).
	PowerChassis bool `json:"power_chassis,omitempty"`
}

// Result is an operation's one outcome.
type Result struct {
	Op      string       `json:"op"`
	Kind    Kind         `json:"kind"`
	Target  actors.ID    `json:"target"`
	Outcome saga.Outcome `json:"outcome"`
	Reason  string       `json:"reason,omitempty"`
	Alert   string       `json:"alert,omitempty"`
	// Noop says the target already was in the requested state: the
	// operation did nothing.
	Noop bool `json:"noop,omitempty"`
	// State is the target's state when the operation ended, so that a
	// retry answers the outcome as it was, not the state the target has
	// come to since. Empty in records written before it was kept.
	State string `json:"state,omitempty"`
}

var resetTypes = map[Kind][]string{
	HostPowerOn: {machine.RequestOn, machine.RequestForceOn, machine.RequestPushPowerButton},
	HostReset: {machine.RequestGracefulRestart, machine.RequestForceRestart, machine.RequestPowerCycle,
		machine.RequestNmi, machine.RequestPushPowerButton, machine.RequestForceOn},
}

// validate checks the request against the topology and fills defaults.
func (r *Request) validate(topo Topology) error {
	kind := ""
	switch r.Kind {
	case ChassisPowerOn, ChassisPowerOff, ChassisPowerCycle:
		kind = actors.KindChassis
	case HostPowerOn, HostGracefulOff, HostForceOff, HostReset:
		kind = actors.KindHost
	case BMCEnterMaintenance, BMCExitMaintenance:
		kind = actors.KindBMC
		if r.Target == "" {
			r.Target = topo.BMC
		}
	default:
		return fmt.Errorf("%w: unknown operation %q", ErrInvalidRequest, r.Kind)
	}
	if r.Target.Kind() != kind {
		return fmt.Errorf("%w: %s needs a %s target, not %q", ErrInvalidRequest, r.Kind, kind, r.Target)
	}
	if _, ok := topo.chassisOf(r.Target); !ok && kind != actors.KindBMC {
		return fmt.Errorf("%w: unknown %s %q", ErrInvalidRequest, kind, r.Target)
	}
	if kind == actors.KindBMC && r.Target != topo.BMC {
		return fmt.Errorf("%w: unknown bmc %q", ErrInvalidRequest, r.Target)
	}
	if r.Kind == HostPowerOn && r.ResetType == "" {
		r.ResetType = machine.RequestOn
	}
	if allowed, ok := resetTypes[r.Kind]; ok && !slices.Contains(allowed, r.ResetType) {
		return fmt.Errorf("%w: %s takes reset type %v, not %q", ErrInvalidRequest, r.Kind, allowed, r.ResetType)
	}
	if !ok(resetTypes, r.Kind) && r.ResetType != "" {
		return fmt.Errorf("%w: %s takes no reset type", ErrInvalidRequest, r.Kind)
	}
	if r.Role == "" {
		r.Role = RoleUser
	}
	return nil
}

func ok(m map[Kind][]string, k Kind) bool { _, found := m[k]; return found }

// powersOn reports whether the operation can turn a host on.
func (r Request) powersOn() bool {
	switch r.Kind {
	case HostPowerOn:
		return true
	case HostReset:
		return r.ResetType != machine.RequestNmi && r.ResetType != machine.RequestForceRestart
	}
	return false
}

// sameRequest says whether b retries a: the same requester asking the same
// of the same target. The key and the role are not part of it.
func sameRequest(a, b Request) bool {
	return a.Kind == b.Kind && a.Target == b.Target && a.ResetType == b.ResetType && a.Requester == b.Requester &&
		slices.Equal(a.Override, b.Override) && a.Queue == b.Queue && a.PowerChassis == b.PowerChassis
}

// ConflictError refuses a request under an idempotency key that an earlier,
// different request already holds.
type ConflictError struct {
	Key   string
	Op    string  // the first request's operation
	First Request // the first request
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("idempotency key %q already names operation %s, %s of %s by %q: a different request needs a new key",
		e.Key, e.Op, e.First.Kind, e.First.Target, e.First.Requester)
}

// RefusedError is the refusal of an operation rejected before a restart,
// as the log recorded it.
type RefusedError struct {
	Op     string
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

// goal is the stable state an operation brings its target to, if it names
// one: a request for it when the target is there already is a no-op.
// Resets, cycles and the power button act rather than reach a state.
func (r Request) goal() (string, bool) {
	switch r.Kind {
	case HostPowerOn:
		return machine.StateRunning, r.ResetType != machine.RequestPushPowerButton
	case HostGracefulOff, HostForceOff, ChassisPowerOff:
		return machine.StateOff, true
	case ChassisPowerOn:
		return machine.StateOn, true
	case BMCEnterMaintenance:
		return machine.StateMaintenance, true
	case BMCExitMaintenance:
		return machine.StateReady, true
	}
	return "", false
}
