package devices

import (
	"errors"
	"math"
	"testing"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/pmbus"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// PSUReadings gives the simulated PSU's own values, each with its unit,
// raw word, format and time, and the status.
func TestPSUReadingsOfTheSimulatedPSU(t *testing.T) {
	r := newRig(t, options{})
	r.psuOn("psu0")
	var got PSUReadings
	var err error
	r.during(func() { got, err = r.hw.PSUReadings(r.ctx, "psu0") })
	if err != nil {
		t.Fatal(err)
	}
	want := r.psu("psu0")
	if got.PSU != "psu0" || got.Chassis != "0" || len(got.Readings) != len(ReadQuantities) {
		t.Fatalf("readings = %+v", got)
	}
	values := map[adapters.Quantity]float64{adapters.QuantityVin: want.VinVolts, adapters.QuantityVout: want.VoutVolts,
		adapters.QuantityIout: want.IoutAmps, adapters.QuantityTemperature: want.TempC}
	for i, rd := range got.Readings {
		q := ReadQuantities[i]
		if rd.Err != nil || rd.Quantity != q || rd.Unit != q.Unit() || rd.Time.IsZero() || rd.Raw == 0 {
			t.Errorf("%s = %+v", q, rd)
			continue
		}
		// LINEAR11 keeps 10 bits of mantissa, LINEAR16 more.
		if math.Abs(rd.Value-values[q]) > math.Abs(values[q])/512 {
			t.Errorf("%s = %v %s, the simulation says %v", q, rd.Value, rd.Unit, values[q])
		}
		wantFormat := pmbus.FormatLinear11
		if q == adapters.QuantityVout {
			wantFormat = pmbus.FormatLinear16
		}
		if rd.Format != wantFormat {
			t.Errorf("%s format %q, want %q", q, rd.Format, wantFormat)
		}
	}
	if got.StatusErr != nil || uint16(got.Status.Word) != want.StatusWord || !got.Status.PowerGood() {
		t.Errorf("status %v (%v), the simulation says 0x%04X", got.Status, got.StatusErr, want.StatusWord)
	}
	if _, err := r.hw.PSUReadings(r.ctx, "psu9"); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("psu9: err = %v, want ErrUnknownDevice", err)
	}
}

// A PSU that stops answering costs one reading's retries: the later
// readings and the status say they were not read, and the chassis records
// psu_unreachable.
func TestPSUReadingsOfAnUnreachablePSU(t *testing.T) {
	r := newRig(t, options{})
	r.inject(simhw.Fault{Kind: simhw.BusTimeout, Target: "psu1"})
	var got PSUReadings
	var err error
	r.during(func() { got, err = r.hw.PSUReadings(r.ctx, "psu1") })
	if err != nil {
		t.Fatal(err)
	}
	first := got.Readings[0]
	if !errors.Is(first.Err, ErrRetriesExhausted) || !errors.Is(first.Err, adapters.ErrBusTimeout) {
		t.Fatalf("vin error = %v, want retries exhausted on a bus timeout", first.Err)
	}
	for _, rd := range got.Readings[1:] {
		if !errors.Is(rd.Err, ErrNotRead) {
			t.Errorf("%s error = %v, want ErrNotRead", rd.Quantity, rd.Err)
		}
	}
	if !errors.Is(got.StatusErr, ErrNotRead) {
		t.Errorf("status error = %v, want ErrNotRead", got.StatusErr)
	}
	r.settle()
	r.wantCause(chassis, ObservedPSUUnreachable, "psu1")
}
