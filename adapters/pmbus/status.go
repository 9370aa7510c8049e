package pmbus

import (
	"fmt"
	"strings"

	"github.com/statemgr/statemgr/adapters"
)

// StatusWord is the STATUS_WORD register.
type StatusWord uint16

var statusWordNames = [16]string{
	"NONE_OF_THE_ABOVE", "CML", "TEMPERATURE", "VIN_UV_FAULT",
	"IOUT_OC_FAULT", "VOUT_OV_FAULT", "OFF", "BUSY",
	"UNKNOWN", "OTHER", "FANS", "POWER_GOOD#",
	"MFR_SPECIFIC", "INPUT", "IOUT_POUT", "VOUT",
}

// PowerGood reports whether POWER_GOOD# (bit 11) is clear, i.e. the output
// is good.
func (w StatusWord) PowerGood() bool { return uint16(w)&adapters.StatusPowerGoodN == 0 }

// Off reports whether the OFF bit (6) is set: the unit is not providing
// power, for whatever reason (including being commanded off).
func (w StatusWord) Off() bool { return uint16(w)&adapters.StatusOff != 0 }

// Flags returns the names of the set bits, lowest first.
func (w StatusWord) Flags() []string { return bitNames(uint(w), statusWordNames[:]) }

func (w StatusWord) String() string { return formatFlags(fmt.Sprintf("0x%04X", uint16(w)), w.Flags()) }

// StatusVout is the STATUS_VOUT register.
type StatusVout byte

var statusVoutNames = [8]string{"", "TOFF_MAX_WARN", "TON_MAX_FAULT", "VOUT_MAX_MIN_WARN", "UV_FAULT", "UV_WARN", "OV_WARN", "OV_FAULT"}

// Flags returns the names of the set bits, lowest first.
func (s StatusVout) Flags() []string { return bitNames(uint(s), statusVoutNames[:]) }

func (s StatusVout) String() string { return formatFlags(fmt.Sprintf("0x%02X", byte(s)), s.Flags()) }

// StatusIout is the STATUS_IOUT register.
type StatusIout byte

var statusIoutNames = [8]string{"POUT_OP_WARN", "POUT_OP_FAULT", "POWER_LIMITING", "SHARE_FAULT", "UC_FAULT", "OC_WARN", "OC_LV_FAULT", "OC_FAULT"}

// Flags returns the names of the set bits, lowest first.
func (s StatusIout) Flags() []string { return bitNames(uint(s), statusIoutNames[:]) }

func (s StatusIout) String() string { return formatFlags(fmt.Sprintf("0x%02X", byte(s)), s.Flags()) }

// StatusInput is the STATUS_INPUT register.
type StatusInput byte

var statusInputNames = [8]string{"PIN_OP_WARN", "IIN_OC_WARN", "IIN_OC_FAULT", "UNIT_OFF_LOW_INPUT", "VIN_UV_FAULT", "VIN_UV_WARN", "VIN_OV_WARN", "VIN_OV_FAULT"}

// STATUS_INPUT bits that say the unit lost its input; both latch until
// CLEAR_FAULTS.
const (
	InputUnitOffLowInput StatusInput = 1 << 3
	InputVinUVFault      StatusInput = 1 << 4
)

// Lost reports whether the input is gone: a VIN_UV fault or unit off for
// low input.
func (s StatusInput) Lost() bool { return s&(InputUnitOffLowInput|InputVinUVFault) != 0 }

// Flags returns the names of the set bits, lowest first.
func (s StatusInput) Flags() []string { return bitNames(uint(s), statusInputNames[:]) }

func (s StatusInput) String() string { return formatFlags(fmt.Sprintf("0x%02X", byte(s)), s.Flags()) }

// StatusTemperature is the STATUS_TEMPERATURE register.
type StatusTemperature byte

var statusTemperatureNames = [8]string{"", "", "", "", "UT_FAULT", "UT_WARN", "OT_WARN", "OT_FAULT"}

// Flags returns the names of the set bits, lowest first.
func (s StatusTemperature) Flags() []string { return bitNames(uint(s), statusTemperatureNames[:]) }

func (s StatusTemperature) String() string {
	return formatFlags(fmt.Sprintf("0x%02X", byte(s)), s.Flags())
}

// StatusCML is the STATUS_CML register (communication, memory, logic).
type StatusCML byte

var statusCMLNames = [8]string{"OTHER_MEMORY_LOGIC_FAULT", "OTHER_COMM_FAULT", "", "PROCESSOR_FAULT", "MEMORY_FAULT", "PEC_FAILED", "INVALID_DATA", "INVALID_COMMAND"}

// Flags returns the names of the set bits, lowest first.
func (s StatusCML) Flags() []string { return bitNames(uint(s), statusCMLNames[:]) }

func (s StatusCML) String() string { return formatFlags(fmt.Sprintf("0x%02X", byte(s)), s.Flags()) }

// Status is STATUS_WORD with the detail registers it points at. A detail
// register is read only when its summary bit in STATUS_WORD is set, and is
// zero otherwise.
type Status struct {
	Word        StatusWord
	Vout        StatusVout
	Iout        StatusIout
	Input       StatusInput
	Temperature StatusTemperature
	CML         StatusCML
}

// PowerGood reports whether the output is good.
func (s Status) PowerGood() bool { return s.Word.PowerGood() }

// Off reports whether the unit is not providing power.
func (s Status) Off() bool { return s.Word.Off() }

// Flags returns every set bit as "REGISTER.FLAG", STATUS_WORD's first, e.g.
// ["WORD.VOUT", "WORD.POWER_GOOD#", "VOUT.UV_FAULT"].
func (s Status) Flags() []string {
	var out []string
	add := func(reg string, names []string) {
		for _, n := range names {
			out = append(out, reg+"."+n)
		}
	}
	add("WORD", s.Word.Flags())
	add("VOUT", s.Vout.Flags())
	add("IOUT", s.Iout.Flags())
	add("INPUT", s.Input.Flags())
	add("TEMPERATURE", s.Temperature.Flags())
	add("CML", s.CML.Flags())
	return out
}

func (s Status) String() string {
	return formatFlags(fmt.Sprintf("STATUS_WORD 0x%04X", uint16(s.Word)), s.Flags())
}

func bitNames(v uint, names []string) []string {
	var out []string
	for bit, name := range names {
		if v&(1<<bit) == 0 {
			continue
		}
		if name == "" {
			name = fmt.Sprintf("BIT%d", bit)
		}
		out = append(out, name)
	}
	return out
}

func formatFlags(value string, flags []string) string {
	if len(flags) == 0 {
		return value
	}
	return value + " [" + strings.Join(flags, " ") + "]"
}
