package pmbus

import (
	"github.com/statemgr/statemgr/adapters"

	"errors"
	"math"
	"testing"
)

// Coefficients published for real devices (datasheet tables; QEMU's
// hw/sensor/adm1272.c uses the same ones).
var (
	adm1272Volts100 = adapters.Coefficients{M: 4062, B: 0, R: -2}    // VIN/VOUT, 100 V range
	adm1272Volts60  = adapters.Coefficients{M: 6770, B: 0, R: -2}    // VIN/VOUT, 60 V range
	adm1272Amps     = adapters.Coefficients{M: 663, B: 20480, R: -1} // IOUT, 30 mV range, per mΩ of sense resistor
	adm1272Celsius  = adapters.Coefficients{M: 42, B: 31871, R: -1}  // TEMPERATURE
	adm1272Watts    = adapters.Coefficients{M: 10535, B: 0, R: -3}   // PIN, 100 V / 30 mV, per mΩ
)

func TestDecodeDirect(t *testing.T) {
	tests := []struct {
		name string
		raw  uint16
		c    adapters.Coefficients
		want float64
	}{
		{"adm1272 VIN 100 V range, 12 V as QEMU encodes it", 487, adm1272Volts100, 48700.0 / 4062},
		{"adm1272 VIN 100 V range, 48 V", 1949, adm1272Volts100, 194900.0 / 4062},
		{"adm1272 VIN 60 V range, 12 V", 812, adm1272Volts60, 81200.0 / 6770},
		{"adm1272 VIN full scale 0xFFF", 0x0FFF, adm1272Volts100, 409500.0 / 4062},
		{"adm1272 IOUT zero current is the offset b/10", 2048, adm1272Amps, 0},
		{"adm1272 IOUT 1 mΩ, 10 A", 2711, adm1272Amps, (27110.0 - 20480) / 663},
		{"adm1272 IOUT reverse current (Y below the offset)", 1985, adm1272Amps, (19850.0 - 20480) / 663},
		{"adm1272 temperature 25 °C", 3292, adm1272Celsius, (32920.0 - 31871) / 42},
		{"adm1272 temperature of QEMU's model (register 0)", 0, adm1272Celsius, -31871.0 / 42},
		{"adm1272 PIN 1 mΩ", 3160, adm1272Watts, 3160e3 / 10535},
		{"negative Y is two's complement", 0xFFFF, adapters.Coefficients{M: 1, B: 0, R: 0}, -1},
		{"most negative Y", 0x8000, adapters.Coefficients{M: 1, B: 0, R: 0}, -32768},
		{"m=1 R=3: millivolts", 1800, adapters.Coefficients{M: 1, B: 0, R: 3}, 1.8},
		{"negative m", 100, adapters.Coefficients{M: -2, B: 0, R: 0}, -50},
		{"negative b", 10, adapters.Coefficients{M: 1, B: -5, R: 0}, 15},
	}
	for _, tt := range tests {
		if got := DecodeDirect(tt.raw, tt.c); math.Abs(got-tt.want) > 1e-9*math.Max(1, math.Abs(tt.want)) {
			t.Errorf("%s: DecodeDirect(0x%04X, %s) = %v, want %v", tt.name, tt.raw, tt.c, got, tt.want)
		}
	}
}

func TestEncodeDirect(t *testing.T) {
	tests := []struct {
		v    float64
		c    adapters.Coefficients
		want uint16
	}{
		{12, adm1272Volts100, 487},                // 487.44 rounds down
		{48, adm1272Volts100, 1950},               // 1949.76 rounds up (QEMU truncates to 1949)
		{0, adm1272Amps, 2048},                    // the offset
		{25, adm1272Celsius, 3292},                // 3292.1
		{-1, adapters.Coefficients{M: 1}, 0xFFFF}, // two's complement
		{1.8, adapters.Coefficients{M: 1, R: 3}, 1800},
	}
	for _, tt := range tests {
		got, err := EncodeDirect(tt.v, tt.c)
		if err != nil {
			t.Fatalf("EncodeDirect(%v, %s): %v", tt.v, tt.c, err)
		}
		if got != tt.want {
			t.Errorf("EncodeDirect(%v, %s) = %d, want %d", tt.v, tt.c, got, tt.want)
		}
	}
}

func TestEncodeDirectOutOfRange(t *testing.T) {
	for _, v := range []float64{1e6, -1e6, math.NaN(), math.Inf(1)} {
		if _, err := EncodeDirect(v, adm1272Volts100); !errors.Is(err, ErrRange) {
			t.Errorf("EncodeDirect(%v) err = %v, want ErrRange", v, err)
		}
	}
}

// TestDirectRoundTripEveryWord: every word decodes to a value that
// encodes back to it, for coefficients of each sign.
func TestDirectRoundTripEveryWord(t *testing.T) {
	for _, c := range []adapters.Coefficients{adm1272Volts100, adm1272Amps, adm1272Celsius, {M: -7, B: 3, R: 2}, {M: 1, B: 0, R: 0}} {
		for raw := 0; raw <= math.MaxUint16; raw++ {
			v := DecodeDirect(uint16(raw), c)
			back, err := EncodeDirect(v, c)
			if err != nil || back != uint16(raw) {
				t.Fatalf("%s: 0x%04X decodes to %v, which encodes to 0x%04X (%v)", c, raw, v, back, err)
			}
		}
	}
}

func TestCoefficientsValidate(t *testing.T) {
	bad := []adapters.Coefficients{
		{M: 0, B: 0, R: 0},
		{M: 32768, B: 0, R: 0},
		{M: -32769, B: 0, R: 0},
		{M: 1, B: 40000, R: 0},
		{M: 1, B: 0, R: 16},
		{M: 1, B: 0, R: -16},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, adapters.ErrBadCoefficients) {
			t.Errorf("%s: Validate() = %v, want ErrBadCoefficients", c, err)
		}
		if _, err := EncodeDirect(1, c); !errors.Is(err, adapters.ErrBadCoefficients) {
			t.Errorf("%s: EncodeDirect err = %v, want ErrBadCoefficients", c, err)
		}
	}
	for _, c := range []adapters.Coefficients{adm1272Volts100, adm1272Amps, adm1272Celsius, {M: -32768, B: -32768, R: -15}, {M: 32767, B: 32767, R: 15}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
}
