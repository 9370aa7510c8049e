package devices

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// during runs call in its own goroutine, as a coordinator saga does, and
// moves the clock as the coordinator's driver would until call returns:
// retries wait on the clock.
func (r *rig) during(call func()) {
	r.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		call()
	}()
	for {
		select {
		case <-done:
			return
		case <-time.After(time.Millisecond):
			r.advance(10 * time.Millisecond)
		}
	}
}

// must fails the test on err.
func (r *rig) must(what string, err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
}

// psuOn switches a PSU on as the coordinator does and waits for its ramp.
func (r *rig) psuOn(name string) {
	r.t.Helper()
	r.must("PSUOn "+name, r.hw.PSUOn(r.ctx, name))
	r.advance(300 * time.Millisecond)
}

func TestCoordinatorPSUOnOffAndStatus(t *testing.T) {
	r := newRig(t, options{})
	r.psuOn("psu0")
	if st := r.psu("psu0"); st.Operation != adapters.OperationOn || !st.PowerGood {
		t.Fatalf("after PSUOn: OPERATION 0x%02X, power good %v", st.Operation, st.PowerGood)
	}
	st, err := r.hw.PSUStatus(r.ctx, "psu0")
	if err != nil || !st.PowerGood() || st.Input.Lost() || st.Vout != 0 || st.Iout != 0 || st.Temperature != 0 {
		t.Fatalf("PSUStatus psu0 = %+v, %v; want power good alone", st, err)
	}
	if st, err := r.hw.PSUStatus(r.ctx, "psu1"); err != nil || st.PowerGood() {
		t.Fatalf("PSUStatus psu1 = %+v, %v; want no power good", st, err)
	}

	r.must("PSUOff", r.hw.PSUOff(r.ctx, "psu0"))
	if st := r.psu("psu0"); st.Operation != adapters.OperationImmediateOff || st.PowerGood {
		t.Fatalf("after PSUOff: OPERATION 0x%02X (want IMMEDIATE OFF 0x%02X), power good %v", st.Operation, adapters.OperationImmediateOff, st.PowerGood)
	}
	// Idempotent: a second off changes nothing and succeeds.
	r.must("second PSUOff", r.hw.PSUOff(r.ctx, "psu0"))
	if st, err := r.hw.PSUStatus(r.ctx, "psu0"); err != nil || st.PowerGood() {
		t.Fatalf("PSUStatus after PSUOff = %+v, %v", st, err)
	}
}

// The PSU polls see chassis power come and go after the coordinator's
// commands, and say who did it.
func TestCoordinatorPSUCommandsAreAttributed(t *testing.T) {
	r := newRig(t, options{})
	r.advance(2 * time.Second)
	r.psuOn("psu0")
	r.advance(2 * time.Second)
	r.wantCause(chassis, machine.ObservedPowerGoodAsserted, "chassis power good after psu0 power on", "by the coordinator")
	r.must("PSUOff", r.hw.PSUOff(r.ctx, "psu0"))
	r.advance(2 * time.Second)
	r.wantCause(chassis, machine.ObservedPowerGoodDeasserted, "chassis power good lost after psu0 power off", "by the coordinator")
}

// Input loss and faults latch until PSUClearFaults; warnings are not
// faults.
func TestCoordinatorPSUInputLostFaultsAndClear(t *testing.T) {
	r := newRig(t, options{})
	r.psuOn("psu0")
	r.psuOn("psu1")
	r.inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: "psu0"})
	r.inject(simhw.Fault{Kind: simhw.PSUOverTemp, Target: "psu1"})
	r.advance(100 * time.Millisecond)
	st0, err := r.hw.PSUStatus(r.ctx, "psu0")
	r.must("PSUStatus psu0", err)
	st1, err := r.hw.PSUStatus(r.ctx, "psu1")
	r.must("PSUStatus psu1", err)
	if !st0.Input.Lost() || st0.PowerGood() {
		t.Fatalf("psu0 with VIN under voltage: %+v; want input lost, no power good", st0)
	}
	if st1.Input.Lost() || !slices.Contains(st1.Temperature.Flags(), "OT_FAULT") {
		t.Fatalf("psu1 over temperature: %+v; want STATUS_TEMPERATURE OT_FAULT", st1)
	}

	r.must("restore psu0's input", r.sim.Clear(simhw.PSUVinUV, "psu0"))
	r.must("cool psu1", r.sim.Clear(simhw.PSUOverTemp, "psu1"))
	r.advance(100 * time.Millisecond)
	if st, _ := r.hw.PSUStatus(r.ctx, "psu0"); !st.Input.Lost() {
		t.Fatalf("psu0 after the input came back: %+v; want the loss still latched", st)
	}
	for _, p := range []string{"psu0", "psu1"} {
		r.must("PSUClearFaults "+p, r.hw.PSUClearFaults(r.ctx, p))
		if st, err := r.hw.PSUStatus(r.ctx, p); err != nil || st.Input.Lost() || st.Vout != 0 || st.Iout != 0 || st.Temperature != 0 {
			t.Fatalf("%s after PSUClearFaults: %+v, %v", p, st, err)
		}
	}
}

// The coordinator presses the power button itself; the power good edge
// that follows is attributed to it, not reported as unrequested.
func TestCoordinatorHostLines(t *testing.T) {
	r := newRig(t, options{})
	r.psuOn("psu0")
	if on, err := r.hw.HostPowerGood(r.ctx, "0"); err != nil || on {
		t.Fatalf("HostPowerGood before the press = %v, %v", on, err)
	}
	r.must("press", r.hw.SetPowerButton(r.ctx, "0", true))
	if hs, _ := r.sim.Host("0"); !hs.ButtonAsserted {
		t.Fatal("POWER_OUT asserted but the host sees no press")
	}
	r.advance(200 * time.Millisecond)
	r.must("release", r.hw.SetPowerButton(r.ctx, "0", false))
	r.advance(time.Second)
	if on, err := r.hw.HostPowerGood(r.ctx, "0"); err != nil || !on {
		t.Fatalf("HostPowerGood after the press = %v, %v", on, err)
	}
	if on, err := r.hw.HostPowerGood(r.ctx, "1"); err != nil || on {
		t.Fatalf("HostPowerGood of host 1 = %v, %v; it was not pressed", on, err)
	}
	r.wantCause(host0, machine.ObservedPowerGoodAsserted, "PS_PWROK asserted after power button asserted by the coordinator")

	r.must("assert reset", r.hw.SetReset(r.ctx, "0", true))
	if hs, _ := r.sim.Host("0"); !hs.InReset {
		t.Fatal("RESET_OUT asserted but the host is not in reset")
	}
	r.advance(500 * time.Millisecond)
	r.must("release reset", r.hw.SetReset(r.ctx, "0", false))
	r.must("assert NMI", r.hw.SetNMI(r.ctx, "0", true))
	r.advance(200 * time.Millisecond)
	r.must("release NMI", r.hw.SetNMI(r.ctx, "0", false))
	if hs, _ := r.sim.Host("0"); hs.Resets != 1 || hs.NMIs != 1 || hs.InReset {
		t.Fatalf("simulated host after a reset and an NMI: %+v", hs)
	}
}

// Temperature is the hottest sensor of the zone that can be read.
func TestCoordinatorTemperatureHottestReadableSensor(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "temp1_input"), []byte("61500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, options{config: func(c *Config) {
		z := &c.Platform.Thermal[0]
		z.Sensors = append(z.Sensors,
			platform.Sensor{Name: "board", Backend: platform.SensorHwmon, HwmonDir: dir, Index: 1},
			platform.Sensor{Name: "gone", Backend: platform.SensorHwmon, HwmonDir: dir, Index: 2})
	}})
	if c, err := r.hw.Temperature(r.ctx, "zone0"); err != nil || c != 61.5 {
		t.Fatalf("Temperature zone0 = %v, %v; want 61.5 from the board sensor, the hottest readable", c, err)
	}
	want, err := r.sim.Temperature("zone1")
	r.must("simulated temperature", err)
	if c, err := r.hw.Temperature(r.ctx, "zone1"); err != nil || c != want {
		t.Fatalf("Temperature zone1 = %v, %v; want %v", c, err, want)
	}
}

func TestCoordinatorTemperatureNoSensorReadable(t *testing.T) {
	dir := t.TempDir()
	r := newRig(t, options{config: func(c *Config) {
		c.Platform.Thermal[1].Sensors = []platform.Sensor{{Name: "gone", Backend: platform.SensorHwmon, HwmonDir: dir, Index: 1}}
	}})
	_, err := r.hw.Temperature(r.ctx, "zone1")
	var de *Error
	if !errors.As(err, &de) || de.Device != "thermal zone zone1" || !strings.Contains(err.Error(), "sensor gone of zone zone1") {
		t.Fatalf("Temperature of a zone with no readable sensor: %v", err)
	}
}

func TestCoordinatorNAKRetried(t *testing.T) {
	r := newRig(t, options{})
	r.inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu0", Count: 2})
	var err error
	r.during(func() { err = r.hw.PSUOn(r.ctx, "psu0") })
	r.must("PSUOn through two NAKs", err)
	if st := r.psu("psu0"); st.Operation != adapters.OperationOn {
		t.Fatalf("OPERATION 0x%02X after the retries", st.Operation)
	}
	if !strings.Contains(r.logs.String(), "hardware call succeeded after retries: device=psu0 op=\"power on (OPERATION on)\" attempts=3") {
		t.Fatal("the retries were not logged")
	}
}

// A fault that outlasts the retries fails with an *Error naming the PSU.
func TestCoordinatorPersistentFaultNamesDevice(t *testing.T) {
	r := newRig(t, options{})
	r.inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu1"})
	var err error
	r.during(func() { _, err = r.hw.PSUStatus(r.ctx, "psu1") })
	var de *Error
	if !errors.As(err, &de) || de.Device != "psu1" || de.Attempts != 4 || !errors.Is(err, ErrRetriesExhausted) || !errors.Is(err, adapters.ErrNAK) {
		t.Fatalf("PSUStatus of a PSU that always NAKs: %#v", err)
	}
}

func TestCoordinatorUnknownNames(t *testing.T) {
	r := newRig(t, options{})
	calls := []struct {
		call func() error
		want []string
	}{
		{func() error { return r.hw.PSUOn(r.ctx, "psu9") }, []string{`psu "psu9"`, "known psus: psu0, psu1"}},
		{func() error { _, err := r.hw.PSUStatus(r.ctx, "chassis0"); return err }, []string{`psu "chassis0"`, "psu0, psu1"}},
		{func() error { _, err := r.hw.HostPowerGood(r.ctx, "host.0"); return err }, []string{`host "host.0"`, "known hosts: 0, 1"}},
		{func() error { return r.hw.SetNMI(r.ctx, "7", true) }, []string{`host "7"`, "0, 1"}},
		{func() error { _, err := r.hw.Temperature(r.ctx, "zone9"); return err }, []string{`thermal zone "zone9"`, "known thermal zones: zone0, zone1"}},
	}
	for _, c := range calls {
		err := c.call()
		if !errors.Is(err, ErrUnknownDevice) {
			t.Errorf("%v, want ErrUnknownDevice", err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q does not say %q", err, w)
			}
		}
	}
}

// coordinatorCalls is one call of each coordinator method.
func coordinatorCalls(ctx context.Context, h *Hardware) map[string]func() error {
	return map[string]func() error{
		"PSUOn":          func() error { return h.PSUOn(ctx, "psu1") },
		"PSUOff":         func() error { return h.PSUOff(ctx, "psu1") },
		"PSUClearFaults": func() error { return h.PSUClearFaults(ctx, "psu0") },
		"PSUStatus":      func() error { _, err := h.PSUStatus(ctx, "psu0"); return err },
		"HostPowerGood":  func() error { _, err := h.HostPowerGood(ctx, "1"); return err },
		"SetPowerButton": func() error { return h.SetPowerButton(ctx, "1", false) },
		"SetReset":       func() error { return h.SetReset(ctx, "1", false) },
		"SetNMI":         func() error { return h.SetNMI(ctx, "1", false) },
		"Temperature":    func() error { _, err := h.Temperature(ctx, "zone0"); return err },
	}
}

func TestCoordinatorAfterClose(t *testing.T) {
	r := newRig(t, options{})
	r.must("Close", r.hw.Close())
	for name, call := range coordinatorCalls(r.ctx, r.hw) {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// Every method may be called from many goroutines at once; calls racing
// Close fail with ErrClosed and nothing else.
func TestCoordinatorConcurrentUse(t *testing.T) {
	r := newRig(t, options{})
	calls := coordinatorCalls(r.ctx, r.hw)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	closing := make(chan struct{})
	for name, call := range calls {
		for range 3 {
			wg.Go(func() {
				for i := 0; ; i++ {
					err := call()
					select {
					case <-closing:
						if err != nil && !errors.Is(err, ErrClosed) {
							errs <- fmt.Errorf("%s while closing: %w", name, err)
						}
						if err != nil {
							return
						}
					default:
						if err != nil {
							errs <- fmt.Errorf("%s call %d: %w", name, i, err)
							return
						}
					}
				}
			})
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(closing)
	r.must("Close", r.hw.Close())
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Before Run, an observation has no Observer to reach: Settle does not
// wait for it (a coordinator starts before the devices run).
func TestSettleBeforeRunDoesNotWaitForObservations(t *testing.T) {
	r := newRig(t, options{noRun: true})
	r.psuOn("psu0") // the chassis actor observes power good on its next poll
	r.hw.Perform(chassis, []machine.Effect{{Name: "sequence_power_off"}})
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	if err := r.hw.Settle(ctx); err != nil {
		t.Fatalf("Settle before Run: %v", err)
	}
}
