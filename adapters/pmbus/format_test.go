package pmbus

import (
	"errors"
	"math"
	"testing"

	"github.com/statemgr/statemgr/adapters"
)

func TestDecodeLinear11(t *testing.T) {
	tests := []struct {
		raw  uint16
		want float64
	}{
		{0x0000, 0},
		{0x0001, 1},                  // exp 0, mant 1
		{0x07FF, -1},                 // exp 0, mant -1
		{0x0400, -1024},              // exp 0, most negative mantissa
		{0x03FF, 1023},               // exp 0, largest mantissa
		{0xD3C0, 15},                 // exp -6, mant 960
		{0xF8C8, 100},                // exp -1, mant 200
		{0xE8A0, 20},                 // exp -3, mant 160
		{0xEF38, -25},                // exp -3, mant -200 (0x738)
		{0xDCE0, -25},                // exp -5, mant -800 (0x4E0)
		{0x8001, math.Ldexp(1, -16)}, // exp -16, smallest positive
		{0x7BFF, 1023 * 32768},       // exp 15, largest value
		{0x7C00, -1024 * 32768},      // exp 15, most negative value
	}
	for _, tt := range tests {
		if got := DecodeLinear11(tt.raw); got != tt.want {
			t.Errorf("DecodeLinear11(0x%04X) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestEncodeLinear11(t *testing.T) {
	// The encoder picks the smallest exponent whose rounded mantissa fits
	// in -1024..1023, so each value has exactly one expected word.
	tests := []struct {
		v    float64
		want uint16
	}{
		{0, 0x8000},   // exp -16, mant 0
		{1, 0xBA00},   // exp -9, mant 512 (exp -10 would need 1024)
		{-1, 0xB400},  // exp -10, mant -1024 fits where +1024 does not
		{0.5, 0xB200}, // exp -10, mant 512
		{12, 0xD300},  // exp -6, mant 768
		{230, 0xF398}, // exp -2, mant 920
		{-25, 0xDCE0}, // exp -5, mant -800
		{15, 0xD3C0},  // exp -6, mant 960
		{1023 * 32768, 0x7BFF},
	}
	for _, tt := range tests {
		got, err := EncodeLinear11(tt.v)
		if err != nil {
			t.Fatalf("EncodeLinear11(%v): %v", tt.v, err)
		}
		if got != tt.want {
			t.Errorf("EncodeLinear11(%v) = 0x%04X, want 0x%04X", tt.v, got, tt.want)
		}
	}
}

func TestEncodeLinear11Rounds(t *testing.T) {
	// 12.34 A: exp -7 (mant 1579.5) does not fit, exp -6 gives 789.76 → 790.
	got, err := EncodeLinear11(12.34)
	if err != nil {
		t.Fatal(err)
	}
	if v := DecodeLinear11(got); v != 790.0/64 {
		t.Errorf("EncodeLinear11(12.34) decodes to %v, want %v", v, 790.0/64)
	}
}

func TestEncodeLinear11OutOfRange(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1024 * 32768, -1025 * 32768} {
		if raw, err := EncodeLinear11(v); !errors.Is(err, ErrRange) {
			t.Errorf("EncodeLinear11(%v) = 0x%04X, %v; want ErrRange", v, raw, err)
		}
	}
}

func TestLinear11RoundTripEveryWord(t *testing.T) {
	for raw := 0; raw <= 0xFFFF; raw++ {
		v := DecodeLinear11(uint16(raw))
		enc, err := EncodeLinear11(v)
		if err != nil {
			t.Fatalf("EncodeLinear11(%v) from 0x%04X: %v", v, raw, err)
		}
		if back := DecodeLinear11(enc); back != v {
			t.Fatalf("0x%04X → %v → 0x%04X → %v", raw, v, enc, back)
		}
	}
}

func TestVoutMode(t *testing.T) {
	tests := []struct {
		mode VoutMode
		kind VoutModeKind
		exp  int
	}{
		{0x14, VoutLinear, -12},
		{0x17, VoutLinear, -9},
		{0x1F, VoutLinear, -1},
		{0x10, VoutLinear, -16},
		{0x0F, VoutLinear, 15},
		{0x00, VoutLinear, 0},
		{0x20, VoutVID, 0},
		{0x40, VoutDirect, 0},
		{0x60, VoutIEEE754, 0},
	}
	for _, tt := range tests {
		if tt.mode.Kind() != tt.kind {
			t.Errorf("VoutMode(0x%02X).Kind() = %v, want %v", byte(tt.mode), tt.mode.Kind(), tt.kind)
		}
		if tt.kind == VoutLinear && tt.mode.Exponent() != tt.exp {
			t.Errorf("VoutMode(0x%02X).Exponent() = %d, want %d", byte(tt.mode), tt.mode.Exponent(), tt.exp)
		}
	}
	for exp := -16; exp <= 15; exp++ {
		m, err := LinearVoutMode(exp)
		if err != nil || m.Kind() != VoutLinear || m.Exponent() != exp {
			t.Errorf("LinearVoutMode(%d) = %v, %v", exp, m, err)
		}
	}
	if _, err := LinearVoutMode(16); !errors.Is(err, ErrRange) {
		t.Errorf("LinearVoutMode(16): %v, want ErrRange", err)
	}
	if got := VoutMode(0x14).String(); got != "0x14 (linear, exponent -12)" {
		t.Errorf("String() = %q", got)
	}
	if got := VoutMode(0x40).String(); got != "0x40 (direct)" {
		t.Errorf("String() = %q", got)
	}
}

func TestDecodeLinear16(t *testing.T) {
	tests := []struct {
		raw  uint16
		mode VoutMode
		want float64
	}{
		// 12 V at exponent -12: 0xC000 = 49152 unsigned. Read as a signed
		// mantissa it would be -16384 · 2^-12 = -4 V.
		{0xC000, 0x14, 12},
		{0x0E66, 0x17, float64(0x0E66) / 512}, // about 7.2 V at exponent -9
		{0x0733, 0x17, float64(0x0733) / 512}, // about 3.6 V
		{0xFFFF, 0x10, float64(0xFFFF) / 65536},
		{0x0001, 0x0F, 32768},
		{0x0000, 0x14, 0},
	}
	for _, tt := range tests {
		got, err := DecodeLinear16(tt.raw, tt.mode)
		if err != nil {
			t.Fatalf("DecodeLinear16(0x%04X, 0x%02X): %v", tt.raw, byte(tt.mode), err)
		}
		if got != tt.want {
			t.Errorf("DecodeLinear16(0x%04X, 0x%02X) = %v, want %v", tt.raw, byte(tt.mode), got, tt.want)
		}
	}
	for _, mode := range []VoutMode{0x20, 0x40, 0x60} {
		if _, err := DecodeLinear16(0x1000, mode); !errors.Is(err, adapters.ErrUnsupported) {
			t.Errorf("DecodeLinear16 with VOUT_MODE 0x%02X: %v, want ErrUnsupported", byte(mode), err)
		}
	}
}

func TestEncodeLinear16(t *testing.T) {
	tests := []struct {
		v    float64
		mode VoutMode
		want uint16
	}{
		{12, 0x14, 0xC000},
		{1.8, 0x17, 922}, // 921.6 rounds up
		{3.3, 0x17, 1690},
		{0, 0x14, 0},
	}
	for _, tt := range tests {
		got, err := EncodeLinear16(tt.v, tt.mode)
		if err != nil {
			t.Fatalf("EncodeLinear16(%v, 0x%02X): %v", tt.v, byte(tt.mode), err)
		}
		if got != tt.want {
			t.Errorf("EncodeLinear16(%v, 0x%02X) = 0x%04X, want 0x%04X", tt.v, byte(tt.mode), got, tt.want)
		}
	}
	for _, v := range []float64{-0.5, 16, math.NaN(), math.Inf(1)} {
		if raw, err := EncodeLinear16(v, 0x14); !errors.Is(err, ErrRange) {
			t.Errorf("EncodeLinear16(%v, 0x14) = 0x%04X, %v; want ErrRange", v, raw, err)
		}
	}
	if _, err := EncodeLinear16(1, 0x40); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("EncodeLinear16 in direct mode: %v, want ErrUnsupported", err)
	}
}

func TestLinear16RoundTripEveryWord(t *testing.T) {
	for _, mode := range []VoutMode{0x14, 0x17, 0x10, 0x0F, 0x00} {
		for raw := 0; raw <= 0xFFFF; raw++ {
			v, err := DecodeLinear16(uint16(raw), mode)
			if err != nil {
				t.Fatal(err)
			}
			back, err := EncodeLinear16(v, mode)
			if err != nil || back != uint16(raw) {
				t.Fatalf("mode 0x%02X: 0x%04X → %v → 0x%04X, %v", byte(mode), raw, v, back, err)
			}
		}
	}
}
