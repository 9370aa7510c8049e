package assembly

import (
	"context"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/server"
)

// PSUs is the API's view of the PSUs (statemgr.psu.readings): the devices'
// readings in the API's shape.
type PSUs struct{ *devices.Hardware }

var _ server.PSUs = PSUs{}

// PSUReading implements server.PSUs.
func (p PSUs) PSUReading(ctx context.Context, psu string) (server.PSUReading, error) {
	r, err := p.Hardware.PSUReadings(ctx, psu)
	if err != nil {
		return server.PSUReading{}, err
	}
	return apiReading(r), nil
}

// apiReading converts one read: a value only where it was decoded, a raw
// word where one was read.
func apiReading(r devices.PSUReadings) server.PSUReading {
	out := server.PSUReading{ID: r.PSU, Chassis: actors.KindChassis + "." + r.Chassis, Readings: make([]server.Reading, len(r.Readings))}
	for i, rd := range r.Readings {
		a := server.Reading{Quantity: string(rd.Quantity), Unit: rd.Unit, Format: rd.Format, Time: rd.Time.UTC()}
		if rd.Err != nil {
			a.Error = rd.Err.Error()
		} else {
			v := rd.Value
			a.Value = &v
		}
		if rd.Err == nil || rd.Raw != 0 {
			raw := rd.Raw
			a.Raw = &raw
		}
		if a.Raw == nil {
			a.Format = "" // nothing was read to have a format
		}
		out.Readings[i] = a
	}
	out.Status.Time = r.StatusTime.UTC()
	if r.StatusErr != nil {
		out.Status.Error = r.StatusErr.Error()
		return out
	}
	word, good := uint16(r.Status.Word), r.Status.PowerGood()
	out.Status.Word, out.Status.PowerGood, out.Status.Flags = &word, &good, r.Status.Flags()
	return out
}
