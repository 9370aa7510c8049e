package simhw

import (
	"errors"
	"fmt"
	"math"
)

// errRange means a value does not fit a PMBus numeric format.
var errRange = errors.New("value out of range for the format")

// The PSU model encodes its own readings so that it does not depend on
// adapters/pmbus, whose tests may well drive this simulator.

// encodeLinear11 encodes v as LINEAR11 (value = mant11 · 2^exp5, both two's
// complement) with the smallest exponent whose mantissa fits, for the most
// precision; the mantissa is rounded to nearest.
func encodeLinear11(v float64) (uint16, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("cannot encode %v as linear11: %w", v, errRange)
	}
	for exp := -16; exp <= 15; exp++ {
		mant := math.Round(math.Ldexp(v, -exp))
		if mant >= -1024 && mant <= 1023 {
			return uint16(exp&0x1f)<<11 | uint16(int(mant)&0x7ff), nil
		}
	}
	return 0, fmt.Errorf("cannot encode %v as linear11: %w", v, errRange)
}

// voutExponent returns the LINEAR16 exponent N of a VOUT_MODE byte: bits 4:0,
// sign-extended.
func voutExponent(mode byte) int { return int(int8(mode<<3) >> 3) }

// encodeLinear16 encodes v as LINEAR16 (value = mant16 · 2^N, mant16
// unsigned, N from VOUT_MODE), rounding to nearest.
func encodeLinear16(v float64, mode byte) (uint16, error) {
	if math.IsNaN(v) {
		return 0, fmt.Errorf("cannot encode NaN as linear16: %w", errRange)
	}
	mant := math.Round(math.Ldexp(v, -voutExponent(mode)))
	if mant < 0 || mant > math.MaxUint16 {
		return 0, fmt.Errorf("cannot encode %v as linear16 with exponent %d: %w", v, voutExponent(mode), errRange)
	}
	return uint16(mant), nil
}
