package pmbus

import (
	"errors"
	"fmt"
	"math"

	"github.com/statemgr/statemgr/adapters"
)

// ErrRange is returned by the encoders for values a format cannot hold.
var ErrRange = errors.New("value out of range for the PMBus format")

// DecodeLinear11 decodes a LINEAR11 word: a 5-bit two's complement exponent
// in bits 15:11 and an 11-bit two's complement mantissa in bits 10:0.
func DecodeLinear11(raw uint16) float64 {
	exp := int(int16(raw) >> 11)
	mant := int(int16(raw<<5) >> 5)
	return math.Ldexp(float64(mant), exp)
}

// EncodeLinear11 encodes v as LINEAR11 with the smallest exponent whose
// mantissa fits, which keeps the most precision; the mantissa is rounded to
// nearest.
func EncodeLinear11(v float64) (uint16, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("cannot encode %v as LINEAR11: %w", v, ErrRange)
	}
	for exp := -16; exp <= 15; exp++ {
		mant := math.Round(math.Ldexp(v, -exp))
		if mant >= -1024 && mant <= 1023 {
			return uint16(exp&0x1f)<<11 | uint16(int(mant)&0x7ff), nil
		}
	}
	return 0, fmt.Errorf("cannot encode %v as LINEAR11 (largest magnitude is about 3.35e7): %w", v, ErrRange)
}

// VoutModeKind is the data format VOUT_MODE bits 7:5 select.
type VoutModeKind byte

// VOUT_MODE formats.
const (
	VoutLinear  VoutModeKind = 0 // ULINEAR16 with the exponent in bits 4:0
	VoutVID     VoutModeKind = 1
	VoutDirect  VoutModeKind = 2
	VoutIEEE754 VoutModeKind = 3 // IEEE 754 half precision
)

func (k VoutModeKind) String() string {
	switch k {
	case VoutLinear:
		return "linear"
	case VoutVID:
		return "vid"
	case VoutDirect:
		return "direct"
	case VoutIEEE754:
		return "ieee754"
	}
	return fmt.Sprintf("reserved mode %d", byte(k))
}

// VoutMode is the VOUT_MODE register.
type VoutMode byte

// Kind returns the data format, bits 7:5.
func (m VoutMode) Kind() VoutModeKind { return VoutModeKind(m >> 5) }

// Exponent returns the LINEAR16 exponent, bits 4:0 sign-extended.
func (m VoutMode) Exponent() int { return int(int8(m<<3) >> 3) }

func (m VoutMode) String() string {
	if m.Kind() == VoutLinear {
		return fmt.Sprintf("0x%02X (linear, exponent %d)", byte(m), m.Exponent())
	}
	return fmt.Sprintf("0x%02X (%s)", byte(m), m.Kind())
}

// LinearVoutMode returns the VOUT_MODE value for linear format with exp, which
// must lie in -16..15.
func LinearVoutMode(exp int) (VoutMode, error) {
	if exp < -16 || exp > 15 {
		return 0, fmt.Errorf("cannot make VOUT_MODE with exponent %d (allowed -16..15): %w", exp, ErrRange)
	}
	return VoutMode(byte(exp) & 0x1f), nil
}

func checkLinear(mode VoutMode) error {
	if mode.Kind() != VoutLinear {
		return fmt.Errorf("VOUT_MODE %s: LINEAR16 needs the linear format (statemgr decodes linear and, with coefficients, direct): %w", mode, adapters.ErrUnsupported)
	}
	return nil
}

// DecodeLinear16 decodes a LINEAR16 (ULINEAR16) output voltage word: an
// unsigned 16-bit mantissa scaled by the exponent in mode.
func DecodeLinear16(raw uint16, mode VoutMode) (float64, error) {
	if err := checkLinear(mode); err != nil {
		return 0, err
	}
	return math.Ldexp(float64(raw), mode.Exponent()), nil
}

// EncodeLinear16 encodes v in LINEAR16 with the exponent in mode, rounding
// to nearest. Negative values and values above 65535·2^exp do not fit.
func EncodeLinear16(v float64, mode VoutMode) (uint16, error) {
	if err := checkLinear(mode); err != nil {
		return 0, err
	}
	if math.IsNaN(v) {
		return 0, fmt.Errorf("cannot encode NaN as LINEAR16: %w", ErrRange)
	}
	mant := math.Round(math.Ldexp(v, -mode.Exponent()))
	if mant < 0 || mant > math.MaxUint16 {
		return 0, fmt.Errorf("cannot encode %v V as LINEAR16 with exponent %d (range 0..%v): %w",
			v, mode.Exponent(), math.Ldexp(math.MaxUint16, mode.Exponent()), ErrRange)
	}
	return uint16(mant), nil
}
