package simhw

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/statemgr/statemgr/adapters"
)

// defaultOnOffConfig is ON_OFF_CONFIG at power-up: POWERUP_CONTROL and
// OPERATION_REQ set, so OPERATION alone turns the output on and off.
const defaultOnOffConfig byte = 0x18

// ON_OFF_CONFIG bits.
const (
	onOffPowerupControl byte = 1 << 4
	onOffOperationReq   byte = 1 << 3
)

// STATUS_* detail bits the model sets.
const (
	voutOVFault    byte = 1 << 7 // STATUS_VOUT
	voutTonMax     byte = 1 << 2 // STATUS_VOUT
	ioutOCFault    byte = 1 << 7 // STATUS_IOUT
	ioutPoutWarn   byte = 1 << 0 // STATUS_IOUT POUT_OP_WARN
	inputVinUV     byte = 1 << 4 // STATUS_INPUT
	inputUnitOff   byte = 1 << 3 // STATUS_INPUT unit off for low input
	tempOTFault    byte = 1 << 7 // STATUS_TEMPERATURE
	cmlInvalidCmd  byte = 1 << 7 // STATUS_CML
	cmlInvalidData byte = 1 << 6 // STATUS_CML
)

// Fixed characteristics of the modelled PSU.
const (
	psuBaseC          = 30.0 // PSU temperature at no load
	psuDegreesPerWatt = 0.02 // PSU temperature rise per output watt
	psuOverTempC      = 105.0
	vinUVFraction     = 0.35 // input voltage during VIN_UV, as a fraction of nominal
)

type outState int

const (
	outOff     outState = iota // not providing power
	outRamping                 // rising towards power good
	outOn                      // power good
	outSoftOff                 // power good, soft off under way
)

type psu struct {
	cfg PSUConfig

	operation, onOffConfig, page byte

	out        outState
	rampStart  time.Time
	rampEv     *event
	softOffEv  *event
	latchedOff bool // shut down by a latching fault until OPERATION cycles

	// Latched STATUS_* registers, cleared by CLEAR_FAULTS.
	statusVout, statusIout, statusInput, statusTemp, statusCML byte
}

func (ps *psu) powerGood() bool { return ps.out == outOn || ps.out == outSoftOff }

// commandedOn applies ON_OFF_CONFIG (the CONTROL pin is not modelled and
// counts as asserted).
func (ps *psu) commandedOn() bool {
	if ps.onOffConfig&onOffPowerupControl == 0 {
		return true
	}
	if ps.onOffConfig&onOffOperationReq != 0 {
		return ps.operation&adapters.OperationOn != 0
	}
	return true
}

// PSUState is the ground truth about one PSU.
type PSUState struct {
	Name       string
	Operation  byte // OPERATION as last written
	OutputOn   bool // providing power (rising, good, or soft-off under way)
	PowerGood  bool
	LatchedOff bool // off for a latching fault until OPERATION goes off then on
	StatusWord uint16
	VinVolts   float64
	IinAmps    float64
	VoutVolts  float64
	IoutAmps   float64
	PoutWatts  float64
	PinWatts   float64
	TempC      float64
}

// PSU returns the ground truth about PSU name.
func (p *Platform) PSU(name string) (PSUState, error) {
	p.lock()
	defer p.unlock()
	ps := p.psu(name)
	if ps == nil {
		return PSUState{}, unknown("psu", name)
	}
	r := p.readings(ps)
	return PSUState{
		Name:       name,
		Operation:  ps.operation,
		OutputOn:   ps.out != outOff,
		PowerGood:  ps.powerGood(),
		LatchedOff: ps.latchedOff,
		StatusWord: ps.statusWord(),
		VinVolts:   r.vin,
		IinAmps:    r.iin,
		VoutVolts:  r.vout,
		IoutAmps:   r.iout,
		PoutWatts:  r.pout,
		PinWatts:   r.pin,
		TempC:      r.temp,
	}, nil
}

// reconcilePSU moves the output towards what the command, the input and
// the faults allow. A soft request turns a good output off after
// SoftOffDelay; everything else acts at once.
func (p *Platform) reconcilePSU(ps *psu, soft bool) {
	name := ps.cfg.Name
	vinUV := p.has(PSUVinUV, name)
	overTemp := p.has(PSUOverTemp, name)
	want := ps.commandedOn() && !vinUV && !overTemp
	if (p.has(PSUVoutOV, name) || p.has(PSUIoutOC, name)) && (ps.out != outOff || want) {
		ps.latchedOff = true
	}
	want = want && !ps.latchedOff
	switch {
	case want && ps.out == outOff:
		ps.out = outRamping
		ps.rampStart = p.at
		ps.rampEv = p.after(ps.cfg.PowerOnDelay, func() {
			ps.rampEv = nil
			p.rampDone(ps)
		})
	case want && ps.out == outSoftOff:
		p.cancel(ps.softOffEv)
		ps.softOffEv = nil
		ps.out = outOn
	case !want && soft && ps.out == outOn:
		ps.out = outSoftOff
		ps.softOffEv = p.after(ps.cfg.SoftOffDelay, func() {
			ps.softOffEv = nil
			ps.out = outOff
			p.psuChanged()
		})
	case !want && ps.out != outOff && !(soft && ps.out == outSoftOff):
		p.cancel(ps.rampEv)
		p.cancel(ps.softOffEv)
		ps.rampEv, ps.softOffEv = nil, nil
		ps.out = outOff
	}
	p.psuChanged()
}

// rampDone is the end of the power-on ramp: power good, or for a PSU that
// never gets there a TON_MAX fault that latches the output off.
func (p *Platform) rampDone(ps *psu) {
	if p.has(PSUNoPowerGood, ps.cfg.Name) {
		ps.statusVout |= voutTonMax
		ps.latchedOff = true
		ps.out = outOff
	} else {
		ps.out = outOn
	}
	p.psuChanged()
}

// refreshPSU latches the status bits whose cause is present now.
func (p *Platform) refreshPSU(ps *psu) {
	name := ps.cfg.Name
	if p.has(PSUVinUV, name) {
		ps.statusInput |= inputVinUV | inputUnitOff
	}
	if p.has(PSUVoutOV, name) {
		ps.statusVout |= voutOVFault
	}
	if p.has(PSUIoutOC, name) {
		ps.statusIout |= ioutOCFault
	}
	if p.has(PSUOverTemp, name) {
		ps.statusTemp |= tempOTFault
	}
	if p.readings(ps).pout > ps.cfg.RatedWatts {
		ps.statusIout |= ioutPoutWarn
	}
}

// statusWord assembles STATUS_WORD from the output state and the latched
// detail registers.
func (ps *psu) statusWord() uint16 {
	var w uint16
	if ps.out == outOff {
		w |= adapters.StatusOff
	}
	if !ps.powerGood() {
		w |= adapters.StatusPowerGoodN
	}
	if ps.statusVout&voutOVFault != 0 {
		w |= adapters.StatusVoutOV
	}
	if ps.statusVout != 0 {
		w |= adapters.StatusVout
	}
	if ps.statusIout&ioutOCFault != 0 {
		w |= adapters.StatusIoutOC
	}
	if ps.statusIout != 0 {
		w |= adapters.StatusIoutPout
	}
	if ps.statusInput&inputVinUV != 0 {
		w |= adapters.StatusVinUV
	}
	if ps.statusInput != 0 {
		w |= adapters.StatusInput
	}
	if ps.statusTemp != 0 {
		w |= adapters.StatusTemperature
	}
	if ps.statusCML != 0 {
		w |= adapters.StatusCML
	}
	// Faults and warnings with no bit of their own in the low byte.
	if ps.statusVout&^voutOVFault != 0 || ps.statusIout&^ioutOCFault != 0 {
		w |= adapters.StatusNoneOfTheAbove
	}
	return w
}

type readings struct{ vin, iin, vout, iout, pout, pin, temp float64 }

// readings computes the PSU's telemetry at model time: the output voltage
// ramps linearly to nominal, the chassis load is shared by the PSUs with
// power good, and the input follows the efficiency.
func (p *Platform) readings(ps *psu) readings {
	var r readings
	c := ps.cfg
	r.vin = c.VinVolts
	if p.has(PSUVinUV, c.Name) {
		r.vin = c.VinVolts * vinUVFraction
	}
	switch ps.out {
	case outRamping:
		frac := 1.0
		if c.PowerOnDelay > 0 {
			frac = min(1, float64(p.at.Sub(ps.rampStart))/float64(c.PowerOnDelay))
		}
		r.vout = c.VoutVolts * frac
	case outOn, outSoftOff:
		r.vout = c.VoutVolts
	}
	if ps.powerGood() {
		n := 0
		for _, q := range p.psus {
			if q.powerGood() {
				n++
			}
		}
		r.pout = p.loadWatts() / float64(n)
	}
	if r.vout > 0 {
		r.iout = r.pout / r.vout
	}
	r.pin = c.StandbyWatts + r.pout/c.Efficiency
	if r.vin > 0 {
		r.iin = r.pin / r.vin
	}
	r.temp = psuBaseC + psuDegreesPerWatt*r.pout
	if p.has(PSUOverTemp, c.Name) {
		r.temp = max(r.temp, psuOverTempC)
	}
	return r
}

// PMBus returns a handle on PSU name's PMBus interface. Handles are not
// exclusive; each may be closed independently.
func (p *Platform) PMBus(name string) (adapters.PMBus, error) {
	p.lock()
	defer p.unlock()
	if p.closed {
		return nil, deviceErr(name, "open", adapters.NoCmd, adapters.ErrClosed)
	}
	ps := p.psu(name)
	if ps == nil {
		return nil, deviceErr(name, "open", adapters.NoCmd, adapters.ErrNoDevice)
	}
	return &pmbusDev{p: p, ps: ps}, nil
}

type pmbusDev struct {
	p      *Platform
	ps     *psu
	closed atomic.Bool
}

// do runs one transaction under the model lock, after the injected bus
// faults: a NAK fails at once; a bus timeout waits its Wait on the clock
// (outside the lock) and then fails. Neither reaches the device.
func (d *pmbusDev) do(ctx context.Context, op string, cmd byte, fn func() error) error {
	name := d.ps.cfg.Name
	fail := func(err error) error { return deviceErr(name, op, int(cmd), err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	p := d.p
	p.lock()
	if d.closed.Load() || p.closed {
		p.unlock()
		return fail(adapters.ErrClosed)
	}
	if _, ok := p.takeBusFault(BusNAK, name); ok {
		p.unlock()
		return fail(adapters.ErrNAK)
	}
	if f, ok := p.takeBusFault(BusTimeout, name); ok {
		p.unlock()
		if f.Wait > 0 {
			t := p.clk.NewTimer(f.Wait)
			defer t.Stop()
			select {
			case <-t.C():
			case <-ctx.Done():
				return fail(ctx.Err())
			case <-p.done:
				return fail(adapters.ErrClosed)
			}
		}
		return fail(adapters.ErrBusTimeout)
	}
	err := fn()
	p.unlock()
	if err != nil {
		return fail(err)
	}
	return nil
}

// unsupported records an invalid command in STATUS_CML.
func (ps *psu) unsupported() error {
	ps.statusCML |= cmlInvalidCmd
	return fmt.Errorf("device does not support it (STATUS_CML invalid command set): %w", adapters.ErrUnsupported)
}

// invalidData records invalid data in STATUS_CML.
func (ps *psu) invalidData(v byte) error {
	ps.statusCML |= cmlInvalidData
	return fmt.Errorf("value 0x%02X: %w: %w", v, ErrInvalidData, adapters.ErrUnsupported)
}

// ReadByteData performs an SMBus read byte.
func (d *pmbusDev) ReadByteData(ctx context.Context, cmd byte) (byte, error) {
	var v byte
	err := d.do(ctx, "read byte", cmd, func() error {
		ps := d.ps
		switch cmd {
		case adapters.CmdPage:
			v = ps.page
		case adapters.CmdOperation:
			v = ps.operation
		case adapters.CmdOnOffConfig:
			v = ps.onOffConfig
		case adapters.CmdVoutMode:
			v = ps.cfg.VoutMode
		case adapters.CmdStatusByte:
			v = byte(ps.statusWord())
		case adapters.CmdStatusVout:
			v = ps.statusVout
		case adapters.CmdStatusIout:
			v = ps.statusIout
		case adapters.CmdStatusInput:
			v = ps.statusInput
		case adapters.CmdStatusTemperature:
			v = ps.statusTemp
		case adapters.CmdStatusCML:
			v = ps.statusCML
		default:
			return ps.unsupported()
		}
		return nil
	})
	return v, err
}

// WriteByteData performs an SMBus write byte: PAGE (0 or 0xFF), OPERATION
// (ON, IMMEDIATE OFF, SOFT OFF) and ON_OFF_CONFIG.
func (d *pmbusDev) WriteByteData(ctx context.Context, cmd byte, v byte) error {
	return d.do(ctx, "write byte", cmd, func() error {
		p, ps := d.p, d.ps
		switch cmd {
		case adapters.CmdPage:
			if v != 0 && v != 0xFF {
				return ps.invalidData(v)
			}
			ps.page = v
		case adapters.CmdOperation:
			switch v {
			case adapters.OperationOn:
				ps.operation = v
				p.reconcilePSU(ps, false)
			case adapters.OperationImmediateOff, adapters.OperationSoftOff:
				ps.operation = v
				// Commanding off ends a latched shutdown (PMBus 10.7).
				ps.latchedOff = false
				p.reconcilePSU(ps, v == adapters.OperationSoftOff)
			default:
				return ps.invalidData(v)
			}
		case adapters.CmdOnOffConfig:
			if v&0xE0 != 0 {
				return ps.invalidData(v)
			}
			ps.onOffConfig = v
			p.reconcilePSU(ps, false)
		default:
			return ps.unsupported()
		}
		return nil
	})
}

// ReadWord performs an SMBus read word: STATUS_WORD and the READ_*
// telemetry (LINEAR11, READ_VOUT LINEAR16 with VOUT_MODE's exponent).
func (d *pmbusDev) ReadWord(ctx context.Context, cmd byte) (uint16, error) {
	var v uint16
	err := d.do(ctx, "read word", cmd, func() error {
		p, ps := d.p, d.ps
		if cmd == adapters.CmdStatusWord {
			v = ps.statusWord()
			return nil
		}
		r := p.readings(ps)
		var x float64
		switch cmd {
		case adapters.CmdReadVout:
			w, err := encodeLinear16(r.vout, ps.cfg.VoutMode)
			v = w
			return err
		case adapters.CmdReadVin:
			x = r.vin
		case adapters.CmdReadIin:
			x = r.iin
		case adapters.CmdReadIout:
			x = r.iout
		case adapters.CmdReadTemperature1:
			x = r.temp
		case adapters.CmdReadPout:
			x = r.pout
		case adapters.CmdReadPin:
			x = r.pin
		default:
			return ps.unsupported()
		}
		w, err := encodeLinear11(x)
		v = w
		return err
	})
	return v, err
}

// WriteWord performs an SMBus write word; the modelled PSU has no writable
// word command, so it always sets STATUS_CML and fails.
func (d *pmbusDev) WriteWord(ctx context.Context, cmd byte, _ uint16) error {
	return d.do(ctx, "write word", cmd, func() error { return d.ps.unsupported() })
}

// SendByte performs an SMBus send byte: CLEAR_FAULTS clears every latched
// STATUS_* bit; a fault whose cause persists latches again at once.
// CLEAR_FAULTS does not restart an output latched off.
func (d *pmbusDev) SendByte(ctx context.Context, cmd byte) error {
	return d.do(ctx, "send byte", cmd, func() error {
		p, ps := d.p, d.ps
		if cmd != adapters.CmdClearFaults {
			return ps.unsupported()
		}
		ps.statusVout, ps.statusIout, ps.statusInput, ps.statusTemp, ps.statusCML = 0, 0, 0, 0, 0
		p.refreshPSU(ps)
		return nil
	})
}

// BlockRead performs an SMBus block read of MFR_ID, MFR_MODEL or
// MFR_SERIAL.
func (d *pmbusDev) BlockRead(ctx context.Context, cmd byte) ([]byte, error) {
	var b []byte
	err := d.do(ctx, "block read", cmd, func() error {
		c := d.ps.cfg
		switch cmd {
		case adapters.CmdMfrID:
			b = []byte(c.MfrID)
		case adapters.CmdMfrModel:
			b = []byte(c.Model)
		case adapters.CmdMfrSerial:
			b = []byte(c.Serial)
		default:
			return d.ps.unsupported()
		}
		return nil
	})
	return b, err
}

// Close closes the handle; later calls fail with adapters.ErrClosed.
func (d *pmbusDev) Close() error {
	d.closed.Store(true)
	return nil
}
