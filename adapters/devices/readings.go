package devices

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/pmbus"
)

// ReadQuantities are the readings PSUReadings takes, in its order.
var ReadQuantities = []adapters.Quantity{adapters.QuantityVin, adapters.QuantityVout, adapters.QuantityIout, adapters.QuantityTemperature}

// Reading is one PSU reading as read, and when (on the Hardware's clock).
type Reading struct {
	pmbus.Measurement
	Time time.Time
}

// PSUReadings is one read of a PSU's telemetry and status. Each reading
// and the status carry their own error: a reading that cannot be decoded
// does not hide the others.
type PSUReadings struct {
	PSU, Chassis string
	Readings     []Reading // ReadQuantities, in order
	Status       pmbus.Status
	StatusTime   time.Time
	StatusErr    error
}

// ErrNotRead marks a reading that was not attempted because the PSU had
// stopped answering an earlier one.
var ErrNotRead = errors.New("not read: the psu did not answer an earlier reading")

// psuMeasure asks a PSU actor for its readings.
type psuMeasure struct {
	ctx   context.Context
	reply replyTo[PSUReadings]
}

// PSUReadings reads VIN, VOUT, IOUT, READ_TEMPERATURE_1 and the status
// registers of the PSU named psu, each with the call timeout and retries.
// Once one read finds the PSU not answering (retries exhausted, or no
// answer in time), the rest fail with ErrNotRead at once, so that an
// unreachable PSU costs one call's retries, not one per reading. The
// status read is reported to the chassis like a poll's (an unreachable PSU
// is recorded as psu_unreachable).
func (h *Hardware) PSUReadings(ctx context.Context, psu string) (PSUReadings, error) {
	p, err := h.findPSU(psu)
	if err != nil {
		return PSUReadings{}, err
	}
	return ask(ctx, h, p.pid, p.name, "read readings", func(ctx context.Context, reply replyTo[PSUReadings]) any {
		return psuMeasure{ctx: ctx, reply: reply}
	})
}

// PSUNames lists the PSUs, chassis by chassis in file order.
func (h *Hardware) PSUNames() []string {
	out := make([]string, len(h.psus))
	for i, p := range h.psus {
		out[i] = p.name
	}
	return out
}

func (a *psuActor) measure(ctx context.Context) PSUReadings {
	out := PSUReadings{PSU: a.d.name, Chassis: a.d.chassis.name}
	var silent error // set once the PSU stopped answering
	for _, q := range ReadQuantities {
		r := Reading{Measurement: pmbus.Measurement{Quantity: q, Unit: q.Unit()}}
		if silent != nil {
			r.Err, r.Time = fmt.Errorf("%w (%v)", ErrNotRead, silent), a.h.clk.Now()
			out.Readings = append(out.Readings, r)
			continue
		}
		err := a.h.call(ctx, a.d.pid.Id, a.d.name, "read "+string(q), func(ctx context.Context) error {
			r.Measurement = a.d.dev.Measure(ctx, q)
			return r.Measurement.Err
		})
		r.Err, r.Time = err, a.h.clk.Now()
		if notAnswering(err) {
			silent = err
		}
		out.Readings = append(out.Readings, r)
	}
	if silent != nil {
		out.StatusErr = fmt.Errorf("%w (%v)", ErrNotRead, silent)
		out.StatusTime = a.h.clk.Now()
		a.report(psuReading{psu: a.d.name, err: silent})
		return out
	}
	st := a.read(ctx)
	out.Status, out.StatusErr, out.StatusTime = st.status, st.err, a.h.clk.Now()
	a.report(st)
	return out
}

// notAnswering reports whether err says the device did not answer at all
// (as opposed to a reading it answered but that cannot be decoded).
func notAnswering(err error) bool {
	return adapters.IsTransient(err) || errors.Is(err, adapters.ErrNoDevice)
}
