package sim

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
)

// Epoch is where every simulation's virtual clock starts.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configure a simulation. The zero value simulates the built-in
// platform with the coordinator's default policy.
type Options struct {
	// Platform is the board simulated; nil: platform.Default(). Every PSU
	// and sensor must use the sim back-end.
	Platform *platform.Platform
	Policy   coordinator.Policy
	// Timeouts of the coordinator; a zero Poll becomes 1 s, which keeps
	// five-minute graceful waits cheap to simulate.
	Timeouts coordinator.Timeouts
	// Machine, if set, replaces a component's machine before it is
	// compiled: tests build a system with a guard removed and check that
	// the simulation catches it.
	Machine func(id actors.ID, m *machine.Machine) *machine.Machine
	// IgnoreInputs gives the daemon no Store of the external inputs while
	// the driver still reports to one: a build whose coordinator ignores
	// them, which tests use to show the input invariants catch it.
	IgnoreInputs bool
	// SagaBound is the virtual time within which every operation must have
	// its outcome; default 1 h.
	SagaBound time.Duration
	// ThermalBound is the virtual time within which a thermal emergency
	// must have its outcome with the affected hosts off; default 5 min.
	ThermalBound time.Duration
	// ReconcileEvery is the period of the coordinator's reconciliation
	// (AC loss and thermal detection); default 10 s, as the devices'.
	ReconcileEvery time.Duration
	// Logger receives the system's logs; nil: none. Logs are not part of
	// the trace: goroutines interleave them differently from run to run.
	Logger hclog.Logger
}

func (o *Options) defaults() error {
	if o.Platform == nil {
		o.Platform = platform.Default()
	}
	for _, c := range o.Platform.Chassis {
		for _, p := range c.PSUs {
			if p.Backend != platform.BackendSim {
				return fmt.Errorf("%w: PSU %s uses back-end %s; a simulation needs sim everywhere", ErrInvalidOptions, p.Name, p.Backend)
			}
		}
	}
	if o.Timeouts.Poll == 0 {
		o.Timeouts.Poll = time.Second
	}
	if o.SagaBound == 0 {
		o.SagaBound = time.Hour
	}
	if o.ThermalBound == 0 {
		o.ThermalBound = 5 * time.Minute
	}
	if o.ReconcileEvery == 0 {
		o.ReconcileEvery = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	return nil
}
