package simhw

import (
	"errors"
	"math"
	"testing"
)

// Spec formulas (Linux pmbus_reg2data_linear), written independently of the
// encoders.
func specLinear11(raw uint16) float64 {
	exp := int(int16(raw) >> 11)
	mant := int(int16((raw&0x7ff)<<5) >> 5)
	return float64(mant) * math.Pow(2, float64(exp))
}

func specLinear16(raw uint16, mode byte) float64 {
	n := int(mode & 0x1f)
	if n >= 16 {
		n -= 32
	}
	return float64(raw) * math.Pow(2, float64(n))
}

func TestLinear11RoundTrip(t *testing.T) {
	for _, v := range []float64{0, 1, -1, 0.5, 12.25, 230, 1600, -40, 0.001, 1023, 1024, 25.3, 105, 1e6, -1e6} {
		raw, err := encodeLinear11(v)
		if err != nil {
			t.Fatalf("encode %v: %v", v, err)
		}
		got := specLinear11(raw)
		// Rounding to an 11-bit mantissa: relative error at most 2^-10,
		// absolute at most half the smallest step 2^-16.
		if tol := math.Max(math.Abs(v)/1024, math.Pow(2, -17)); math.Abs(got-v) > tol {
			t.Errorf("linear11 %v -> 0x%04x -> %v, off by more than %v", v, raw, got, tol)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), 1e12} {
		if _, err := encodeLinear11(v); !errors.Is(err, errRange) {
			t.Errorf("encode %v: err %v, want errRange", v, err)
		}
	}
}

func TestLinear11KnownWords(t *testing.T) {
	// 230 V: smallest exponent whose mantissa fits is -2 (920).
	raw, _ := encodeLinear11(230)
	if want := uint16(0x1e<<11 | 920); raw != want {
		t.Errorf("230 -> 0x%04x, want 0x%04x", raw, want)
	}
	// -1: mantissa -1024 at exponent -10 is the most precise.
	raw, _ = encodeLinear11(-1)
	if want := uint16((-10&0x1f)<<11 | (-1024 & 0x7ff)); raw != want {
		t.Errorf("-1 -> 0x%04x, want 0x%04x", raw, want)
	}
}

func TestLinear16RoundTrip(t *testing.T) {
	for _, mode := range []byte{0x17, 0x14, 0x1f, 0x00, 0x02} {
		for _, v := range []float64{0, 1, 3.3, 12, 12.345, 48, 100} {
			raw, err := encodeLinear16(v, mode)
			if mant := v / math.Pow(2, float64(voutExponent(mode))); mant > math.MaxUint16 {
				if !errors.Is(err, errRange) {
					t.Errorf("mode 0x%02x: %v does not fit, err %v", mode, v, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("mode 0x%02x: encode %v: %v", mode, v, err)
			}
			if got, step := specLinear16(raw, mode), math.Pow(2, float64(voutExponent(mode))); math.Abs(got-v) > step/2 {
				t.Errorf("mode 0x%02x: %v -> 0x%04x -> %v", mode, v, raw, got)
			}
		}
	}
	// 12 V at N=-12 needs mantissa 49152 ≥ 2^15: unsigned, not negative.
	raw, err := encodeLinear16(12, 0x14)
	if err != nil || raw != 49152 || specLinear16(raw, 0x14) != 12 {
		t.Errorf("12 V at N=-12 -> 0x%04x, %v", raw, err)
	}
	if _, err := encodeLinear16(-1, 0x17); !errors.Is(err, errRange) {
		t.Errorf("negative vout: err %v, want errRange", err)
	}
}
