package simhw_test

import (
	"errors"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/simhw"
)

const (
	off   = adapters.StatusOff
	pgN   = adapters.StatusPowerGoodN
	vinUV = adapters.StatusVinUV | adapters.StatusInput
)

func TestPSUPowerOnSequence(t *testing.T) {
	r := newRig(t, simhw.Config{})
	d := r.pmbus("psu0")
	if w := r.word(d, adapters.CmdStatusWord); w != off|pgN {
		t.Fatalf("initial STATUS_WORD 0x%04x, want OFF|POWER_GOOD#", w)
	}
	if b := r.byteOf(d, adapters.CmdStatusByte); uint16(b) != (off|pgN)&0xff {
		t.Errorf("STATUS_BYTE 0x%02x, want the low byte of STATUS_WORD", b)
	}
	r.writeByte(d, adapters.CmdOperation, adapters.OperationOn)
	if op := r.byteOf(d, adapters.CmdOperation); op != adapters.OperationOn {
		t.Errorf("OPERATION reads 0x%02x", op)
	}
	if w := r.word(d, adapters.CmdStatusWord); w != pgN {
		t.Errorf("ramping: STATUS_WORD 0x%04x, want only POWER_GOOD#", w)
	}
	r.advance(100 * time.Millisecond)
	mode := r.byteOf(d, adapters.CmdVoutMode)
	if mode != 0x17 {
		t.Errorf("VOUT_MODE 0x%02x, want 0x17", mode)
	}
	if v := linear16(r.word(d, adapters.CmdReadVout), mode); !near(v, 6, 0.01) {
		t.Errorf("half-way VOUT %v, want 6 V", v)
	}
	r.advance(99 * time.Millisecond)
	if w := r.word(d, adapters.CmdStatusWord); w != pgN || r.p.ChassisPowerGood() {
		t.Errorf("at 199 ms: STATUS_WORD 0x%04x, chassis %v; want not yet good", w, r.p.ChassisPowerGood())
	}
	r.advance(time.Millisecond)
	if w := r.word(d, adapters.CmdStatusWord); w != 0 {
		t.Errorf("at 200 ms: STATUS_WORD 0x%04x, want 0 (power good)", w)
	}
	if !r.p.ChassisPowerGood() {
		t.Error("chassis power not good with psu0 good")
	}
	if v := linear16(r.word(d, adapters.CmdReadVout), mode); v != 12 {
		t.Errorf("VOUT %v, want 12", v)
	}

	r.writeByte(d, adapters.CmdOperation, adapters.OperationSoftOff)
	r.advance(49 * time.Millisecond)
	if w := r.word(d, adapters.CmdStatusWord); w != 0 {
		t.Errorf("soft off at 49 ms: STATUS_WORD 0x%04x, want still good", w)
	}
	r.advance(time.Millisecond)
	if w := r.word(d, adapters.CmdStatusWord); w != off|pgN {
		t.Errorf("soft off at 50 ms: STATUS_WORD 0x%04x, want OFF|POWER_GOOD#", w)
	}
	if r.p.ChassisPowerGood() {
		t.Error("chassis power good with every PSU off")
	}

	r.writeByte(d, adapters.CmdOperation, adapters.OperationOn)
	r.advance(200 * time.Millisecond)
	r.writeByte(d, adapters.CmdOperation, adapters.OperationImmediateOff)
	if w := r.word(d, adapters.CmdStatusWord); w != off|pgN {
		t.Errorf("immediate off: STATUS_WORD 0x%04x, want OFF|POWER_GOOD#", w)
	}
}

func TestPSUOnOffConfig(t *testing.T) {
	r := newRig(t, simhw.Config{})
	d := r.pmbus("psu0")
	if c := r.byteOf(d, adapters.CmdOnOffConfig); c != 0x18 {
		t.Errorf("ON_OFF_CONFIG 0x%02x, want 0x18", c)
	}
	// POWERUP_CONTROL clear: the unit runs whenever input is present.
	r.writeByte(d, adapters.CmdOnOffConfig, 0x00)
	r.advance(200 * time.Millisecond)
	if !r.psuState("psu0").PowerGood {
		t.Error("with ON_OFF_CONFIG 0x00 the PSU should run without OPERATION")
	}
	if err := d.WriteByteData(r.ctx, adapters.CmdOnOffConfig, 0xFF); !errors.Is(err, simhw.ErrInvalidData) {
		t.Errorf("ON_OFF_CONFIG 0xFF: err %v, want ErrInvalidData", err)
	}
}

func TestPSUInventoryAndPage(t *testing.T) {
	r := newRig(t, simhw.Config{})
	d := r.pmbus("psu1")
	for cmd, want := range map[byte]string{adapters.CmdMfrID: "SIMPWR", adapters.CmdMfrModel: "SIM-1600W", adapters.CmdMfrSerial: "SIMPSU1"} {
		b, err := d.BlockRead(r.ctx, cmd)
		if err != nil || string(b) != want {
			t.Errorf("block read 0x%02x = %q, %v; want %q", cmd, b, err, want)
		}
	}
	r.writeByte(d, adapters.CmdPage, 0)
	if err := d.WriteByteData(r.ctx, adapters.CmdPage, 3); !errors.Is(err, simhw.ErrInvalidData) {
		t.Errorf("PAGE 3: err %v, want ErrInvalidData", err)
	}
	if c := r.byteOf(d, adapters.CmdStatusCML); c != 0x40 {
		t.Errorf("STATUS_CML 0x%02x after bad data, want INVALID_DATA (0x40)", c)
	}
}

func TestPSUUnsupportedCommand(t *testing.T) {
	r := newRig(t, simhw.Config{})
	d := r.pmbus("psu0")
	_, err := d.ReadWord(r.ctx, 0x21) // VOUT_COMMAND: not modelled
	var de *adapters.DeviceError
	if !errors.Is(err, adapters.ErrUnsupported) || !errors.As(err, &de) || de.Device != "psu0" || de.Cmd != 0x21 || de.Op != "read word" {
		t.Fatalf("unsupported command: err %v", err)
	}
	if _, err := d.ReadByteData(r.ctx, adapters.CmdStatusWord); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("STATUS_WORD as a byte: err %v, want ErrUnsupported", err)
	}
	if err := d.WriteWord(r.ctx, adapters.CmdReadVin, 1); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("write READ_VIN: err %v, want ErrUnsupported", err)
	}
	if err := d.SendByte(r.ctx, adapters.CmdOperation); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("send byte OPERATION: err %v, want ErrUnsupported", err)
	}
	if w := r.word(d, adapters.CmdStatusWord); w&adapters.StatusCML == 0 {
		t.Errorf("STATUS_WORD 0x%04x lacks CML", w)
	}
	if c := r.byteOf(d, adapters.CmdStatusCML); c != 0x80 {
		t.Errorf("STATUS_CML 0x%02x, want INVALID_COMMAND (0x80)", c)
	}
	r.clearFaults(d)
	if w := r.word(d, adapters.CmdStatusWord); w&adapters.StatusCML != 0 {
		t.Errorf("CML still set after CLEAR_FAULTS: 0x%04x", w)
	}
}

func TestClearFaultsRelatchesPersistingCause(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	d := r.pmbus("psu0")
	if err := r.p.Inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: "psu0"}); err != nil {
		t.Fatal(err)
	}
	if w := r.word(d, adapters.CmdStatusWord); w != off|pgN|vinUV {
		t.Fatalf("VIN_UV: STATUS_WORD 0x%04x, want OFF|POWER_GOOD#|VIN_UV|INPUT", w)
	}
	if b := r.byteOf(d, adapters.CmdStatusInput); b != 0x18 {
		t.Errorf("STATUS_INPUT 0x%02x, want VIN_UV_FAULT|UNIT_OFF (0x18)", b)
	}
	if v := linear11(r.word(d, adapters.CmdReadVin)); v > 100 {
		t.Errorf("READ_VIN %v during undervoltage", v)
	}
	if !r.p.ChassisPowerGood() {
		t.Error("psu1 alone should keep chassis power (1+1)")
	}
	r.clearFaults(d)
	if w := r.word(d, adapters.CmdStatusWord); w != off|pgN|vinUV {
		t.Errorf("cause persists: STATUS_WORD 0x%04x after CLEAR_FAULTS, want it latched again", w)
	}
	if err := r.p.Clear(simhw.PSUVinUV, "psu0"); err != nil {
		t.Fatal(err)
	}
	r.advance(200 * time.Millisecond)
	if w := r.word(d, adapters.CmdStatusWord); w != vinUV {
		t.Errorf("input back: STATUS_WORD 0x%04x, want good output with VIN_UV still latched", w)
	}
	r.clearFaults(d)
	if w := r.word(d, adapters.CmdStatusWord); w != 0 {
		t.Errorf("after CLEAR_FAULTS: STATUS_WORD 0x%04x, want 0", w)
	}
}

func TestReadingsFollowLoad(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	d0, d1 := r.pmbus("psu0"), r.pmbus("psu1")
	pout := func(d adapters.PMBus) float64 { return linear11(r.word(d, adapters.CmdReadPout)) }
	if a, b := pout(d0), pout(d1); !near(a, 30, 0.1) || !near(b, 30, 0.1) {
		t.Errorf("idle chassis: POUT %v and %v, want 30 W each (60 W shared)", a, b)
	}
	r.hostOn(r.output(lines("0").PowerOut))
	if a := pout(d0); !near(a, 180, 0.5) {
		t.Errorf("host 0 on: POUT %v, want 180 W", a)
	}
	if i := linear11(r.word(d0, adapters.CmdReadIout)); !near(i, 15, 0.05) {
		t.Errorf("IOUT %v, want 15 A", i)
	}
	if p := linear11(r.word(d0, adapters.CmdReadPin)); !near(p, 10+180/0.94, 0.5) {
		t.Errorf("PIN %v, want %v", p, 10+180/0.94)
	}
	if v := linear11(r.word(d0, adapters.CmdReadVin)); v != 230 {
		t.Errorf("VIN %v, want 230", v)
	}
	if i := linear11(r.word(d0, adapters.CmdReadIin)); !near(i, (10+180/0.94)/230, 0.01) {
		t.Errorf("IIN %v", i)
	}
	if c := linear11(r.word(d0, adapters.CmdReadTemperature1)); !near(c, 30+0.02*180, 0.1) {
		t.Errorf("TEMPERATURE_1 %v", c)
	}
	// psu1 off: psu0 carries everything.
	r.writeByte(d1, adapters.CmdOperation, adapters.OperationImmediateOff)
	if a, b := pout(d0), pout(d1); !near(a, 360, 1) || b != 0 {
		t.Errorf("one PSU: POUT %v and %v, want 360 W and 0", a, b)
	}
	if got := r.p.LoadWatts(); got != 360 {
		t.Errorf("LoadWatts %v, want 360", got)
	}
}

func TestOverloadLatchesPoutWarning(t *testing.T) {
	r := newRig(t, simhw.Config{PSUs: []simhw.PSUConfig{{Name: "psu0", RatedWatts: 200}, {Name: "psu1", RatedWatts: 200}}})
	r.chassisOn()
	d := r.pmbus("psu0")
	if w := r.word(d, adapters.CmdStatusWord); w != 0 {
		t.Fatalf("idle STATUS_WORD 0x%04x", w)
	}
	power := r.output(lines("0").PowerOut)
	r.hostOn(power) // 360 W over two 200 W PSUs: no warning
	r.writeByte(r.pmbus("psu1"), adapters.CmdOperation, adapters.OperationImmediateOff)
	if w := r.word(d, adapters.CmdStatusWord); w != adapters.StatusIoutPout|adapters.StatusNoneOfTheAbove {
		t.Errorf("overloaded: STATUS_WORD 0x%04x, want IOUT_POUT|NONE_OF_THE_ABOVE", w)
	}
	if b := r.byteOf(d, adapters.CmdStatusIout); b != 0x01 {
		t.Errorf("STATUS_IOUT 0x%02x, want POUT_OP_WARN", b)
	}
}

func TestPSUFaultsLatchOff(t *testing.T) {
	for _, tc := range []struct {
		kind    simhw.FaultKind
		word    uint16
		reg     byte
		regBits byte
	}{
		{simhw.PSUVoutOV, adapters.StatusVoutOV | adapters.StatusVout, adapters.CmdStatusVout, 0x80},
		{simhw.PSUIoutOC, adapters.StatusIoutOC | adapters.StatusIoutPout, adapters.CmdStatusIout, 0x80},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			r := newRig(t, simhw.Config{PSUsRequired: 2})
			r.chassisOn()
			power := r.output(lines("0").PowerOut)
			r.hostOn(power)
			d := r.pmbus("psu0")
			if err := r.p.Inject(simhw.Fault{Kind: tc.kind, Target: "psu0"}); err != nil {
				t.Fatal(err)
			}
			if w := r.word(d, adapters.CmdStatusWord); w != off|pgN|tc.word {
				t.Errorf("STATUS_WORD 0x%04x, want 0x%04x", w, off|pgN|tc.word)
			}
			if b := r.byteOf(d, tc.reg); b != tc.regBits {
				t.Errorf("detail register 0x%02x = 0x%02x, want 0x%02x", tc.reg, b, tc.regBits)
			}
			if r.p.ChassisPowerGood() || r.p.HostPowered("0") {
				t.Error("with 2 PSUs required, losing one must drop the chassis and its hosts")
			}
			if err := r.p.Clear(tc.kind, "psu0"); err != nil {
				t.Fatal(err)
			}
			r.clearFaults(d)
			r.advance(time.Second)
			if s := r.psuState("psu0"); s.OutputOn || !s.LatchedOff {
				t.Errorf("cleared cause: output %v latched %v; want still latched off", s.OutputOn, s.LatchedOff)
			}
			r.writeByte(d, adapters.CmdOperation, adapters.OperationOn)
			r.advance(time.Second)
			if r.psuState("psu0").OutputOn {
				t.Error("ON without OFF first must not restart a latched-off PSU")
			}
			r.writeByte(d, adapters.CmdOperation, adapters.OperationImmediateOff)
			r.writeByte(d, adapters.CmdOperation, adapters.OperationOn)
			r.advance(200 * time.Millisecond)
			if w := r.word(d, adapters.CmdStatusWord); w != 0 {
				t.Errorf("after OPERATION off/on: STATUS_WORD 0x%04x, want 0", w)
			}
			if !r.p.ChassisPowerGood() || r.p.HostPowered("0") {
				t.Error("chassis power should be back, host still off until pressed")
			}
		})
	}
}

func TestPSUOverTemperature(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	d := r.pmbus("psu1")
	if err := r.p.Inject(simhw.Fault{Kind: simhw.PSUOverTemp, Target: "psu1"}); err != nil {
		t.Fatal(err)
	}
	if w := r.word(d, adapters.CmdStatusWord); w != off|pgN|adapters.StatusTemperature {
		t.Errorf("STATUS_WORD 0x%04x, want OFF|POWER_GOOD#|TEMPERATURE", w)
	}
	if b := r.byteOf(d, adapters.CmdStatusTemperature); b != 0x80 {
		t.Errorf("STATUS_TEMPERATURE 0x%02x, want OT_FAULT", b)
	}
	if c := linear11(r.word(d, adapters.CmdReadTemperature1)); c < 105 {
		t.Errorf("READ_TEMPERATURE_1 %v, want >= 105", c)
	}
	if err := r.p.Clear(simhw.PSUOverTemp, "psu1"); err != nil {
		t.Fatal(err)
	}
	r.advance(200 * time.Millisecond)
	if w := r.word(d, adapters.CmdStatusWord); w != adapters.StatusTemperature {
		t.Errorf("cooled: STATUS_WORD 0x%04x, want restarted with TEMPERATURE latched", w)
	}
}

func TestPSUNeverReachesPowerGood(t *testing.T) {
	r := newRig(t, simhw.Config{})
	d := r.pmbus("psu0")
	if err := r.p.Inject(simhw.Fault{Kind: simhw.PSUNoPowerGood, Target: "psu0"}); err != nil {
		t.Fatal(err)
	}
	r.writeByte(d, adapters.CmdOperation, adapters.OperationOn)
	r.advance(time.Second)
	want := off | pgN | adapters.StatusVout | adapters.StatusNoneOfTheAbove
	if w := r.word(d, adapters.CmdStatusWord); w != want {
		t.Errorf("STATUS_WORD 0x%04x, want 0x%04x", w, want)
	}
	if b := r.byteOf(d, adapters.CmdStatusVout); b != 0x04 {
		t.Errorf("STATUS_VOUT 0x%02x, want TON_MAX_FAULT", b)
	}
	if r.p.ChassisPowerGood() {
		t.Error("chassis power good without a good PSU")
	}
}

func TestBusNAK(t *testing.T) {
	r := newRig(t, simhw.Config{})
	d := r.pmbus("psu0")
	if err := r.p.Inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu0", Count: 2}); err != nil {
		t.Fatal(err)
	}
	err := d.WriteByteData(r.ctx, adapters.CmdOperation, adapters.OperationOn)
	var de *adapters.DeviceError
	if !errors.Is(err, adapters.ErrNAK) || !errors.As(err, &de) || !de.Transient() {
		t.Fatalf("first transaction: err %v, want a transient NAK", err)
	}
	if _, err := d.ReadWord(r.ctx, adapters.CmdStatusWord); !errors.Is(err, adapters.ErrNAK) {
		t.Fatalf("second transaction: err %v, want NAK", err)
	}
	if got := r.p.Faults(); len(got) != 0 {
		t.Errorf("faults left after the count ran out: %v", got)
	}
	if w := r.word(d, adapters.CmdStatusWord); w != off|pgN {
		t.Errorf("STATUS_WORD 0x%04x: the NAKed OPERATION write must not have reached the PSU", w)
	}
	// Until cleared.
	if err := r.p.Inject(simhw.Fault{Kind: simhw.BusNAK, Target: "psu0"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := d.BlockRead(r.ctx, adapters.CmdMfrID); !errors.Is(err, adapters.ErrNAK) {
			t.Fatalf("err %v, want NAK until cleared", err)
		}
	}
	if err := r.p.Clear(simhw.BusNAK, "psu0"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.BlockRead(r.ctx, adapters.CmdMfrID); err != nil {
		t.Errorf("after clear: %v", err)
	}
}

func TestBusTimeoutWaitsOnClock(t *testing.T) {
	r := newRig(t, simhw.Config{})
	d := r.pmbus("psu0")
	if err := r.p.Inject(simhw.Fault{Kind: simhw.BusTimeout, Target: "psu0", Count: 1, Wait: 35 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	pending := r.clk.Pending()
	done := make(chan error, 1)
	go func() {
		_, err := d.ReadWord(r.ctx, adapters.CmdStatusWord)
		done <- err
	}()
	waitPending(t, r.clk, pending+1)
	select {
	case err := <-done:
		t.Fatalf("returned before the clock moved: %v", err)
	default:
	}
	r.clk.Advance(35 * time.Millisecond)
	if err := <-done; !errors.Is(err, adapters.ErrBusTimeout) || !adapters.IsTransient(err) {
		t.Fatalf("err %v, want ErrBusTimeout", err)
	}
	if _, err := d.ReadWord(r.ctx, adapters.CmdStatusWord); err != nil {
		t.Errorf("after one timeout: %v", err)
	}
	// Wait 0: fails at once.
	if err := r.p.Inject(simhw.Fault{Kind: simhw.BusTimeout, Target: "psu0"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SendByte(r.ctx, adapters.CmdClearFaults); !errors.Is(err, adapters.ErrBusTimeout) {
		t.Errorf("err %v, want ErrBusTimeout", err)
	}
}

func TestPMBusHandleErrors(t *testing.T) {
	r := newRig(t, simhw.Config{})
	if _, err := r.p.PMBus("psu9"); !errors.Is(err, adapters.ErrNoDevice) {
		t.Errorf("unknown PSU: err %v, want ErrNoDevice", err)
	}
	d := r.pmbus("psu0")
	ctx, cancel := contextCanceled(r)
	defer cancel()
	if _, err := d.ReadByteData(ctx, adapters.CmdOperation); !errors.Is(err, errCanceled) {
		t.Errorf("cancelled context: err %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadByteData(r.ctx, adapters.CmdOperation); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("closed handle: err %v, want ErrClosed", err)
	}
}
