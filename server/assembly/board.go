package assembly

import (
	"context"
	"strings"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/pmbus"
)

// The devices perform the components' effects; the assembly is where the
// two layers meet, so the contract is asserted here, not in adapters/.
var _ protoactor.Effector = (*devices.Hardware)(nil)

// Board is the coordinator's view of the devices: every call goes to the
// device's actor, and a PSU's STATUS_* registers are judged here, next to
// the policy that acts on them.
type Board struct{ *devices.Hardware }

var _ coordinator.Hardware = Board{}

// PSUStatus implements coordinator.Hardware.
func (b Board) PSUStatus(ctx context.Context, psu string) (coordinator.PSUStatus, error) {
	st, err := b.Hardware.PSUStatus(ctx, psu)
	if err != nil {
		return coordinator.PSUStatus{}, err
	}
	return coordinatorStatus(st), nil
}

// coordinatorStatus is a reading as the coordinator needs it: the input
// lost bits of STATUS_INPUT, and as faults the flags of STATUS_VOUT,
// STATUS_IOUT and STATUS_TEMPERATURE that are not warnings.
func coordinatorStatus(st pmbus.Status) coordinator.PSUStatus {
	out := coordinator.PSUStatus{PowerGood: st.PowerGood(), InputLost: st.Input.Lost()}
	for _, flags := range [][]string{st.Vout.Flags(), st.Iout.Flags(), st.Temperature.Flags()} {
		for _, f := range flags {
			if !strings.HasSuffix(f, "_WARN") {
				out.Faults = append(out.Faults, f)
			}
		}
	}
	return out
}

// SystemObserver is the devices' Observer over the component system:
// observations are requests to the components, statuses their views.
type SystemObserver struct{ System *protoactor.System }

var _ devices.Observer = SystemObserver{}

// Observe implements devices.Observer.
func (o SystemObserver) Observe(ctx context.Context, id actors.ID, in machine.Input) error {
	_, err := o.System.Request(ctx, id, in)
	return err
}

// Status implements devices.Observer.
func (o SystemObserver) Status(ctx context.Context, id actors.ID) (machine.Status, error) {
	v, err := o.System.Get(ctx, id)
	if err != nil {
		return machine.Status{}, err
	}
	return v.Status, nil
}

// SettleWith waits until the devices are settled (devices.Hardware.Settle)
// and co is quiet (coordinator.Coordinator.Quiet), both at once: the moment
// a driver of a virtual clock may move it. Work moves between the two (a
// saga's hardware call is handed to the devices, the answer back to the
// saga) with an overlap, so a pass in which neither started or resumed any
// work proves both were idle together at its end.
func SettleWith(ctx context.Context, hw *devices.Hardware, co *coordinator.Coordinator) error {
	for {
		before := hw.Activity()
		if err := hw.Settle(ctx); err != nil {
			return err
		}
		gen, err := co.Quiet(ctx)
		if err != nil {
			return err
		}
		if err := hw.Settle(ctx); err != nil {
			return err
		}
		if hw.Activity() == before && co.Activity() == gen {
			return nil
		}
	}
}
