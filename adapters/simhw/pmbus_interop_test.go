package simhw_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/pmbus"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// The PMBus codecs statemgr uses read the simulated PSU as a real one.
func TestPMBusDeviceInterop(t *testing.T) {
	r := newRig(t, simhw.Config{})
	dev := pmbus.NewDevice("psu0", r.pmbus("psu0"))
	if err := dev.On(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.advance(200 * time.Millisecond)
	st, err := dev.Status(r.ctx)
	if err != nil || !st.PowerGood() || st.Off() {
		t.Fatalf("status %v, %v: want power good", st.Word, err)
	}
	if v, err := dev.ReadVout(r.ctx); err != nil || v != 12 {
		t.Errorf("ReadVout %v, %v", v, err)
	}
	if w, err := dev.ReadPout(r.ctx); err != nil || !near(w, 60, 0.1) {
		t.Errorf("ReadPout %v, %v: want the whole 60 W chassis load", w, err)
	}
	if s, err := dev.MfrID(r.ctx); err != nil || s != "SIMPWR" {
		t.Errorf("MfrID %q, %v", s, err)
	}
	if err := r.p.Inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: "psu0"}); err != nil {
		t.Fatal(err)
	}
	st, err = dev.Status(r.ctx)
	if err != nil || st.PowerGood() || !slices.Contains(st.Flags(), "INPUT.VIN_UV_FAULT") {
		t.Errorf("VIN_UV status %v, %v", st.Flags(), err)
	}
	if err := r.p.Inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu0", Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.ReadVin(r.ctx); !errors.Is(err, adapters.ErrNAK) {
		t.Errorf("NAK through pmbus.Device: err %v", err)
	}
}
