package pmbus

import (
	"errors"
	"fmt"
	"math"
)

// Coefficients are the m, b and R of a reading in the DIRECT format (PMBus
// 1.3 Part II, 7.2.1): the device sends Y = (m·X + b)·10^R, so the value
// is X = (Y·10^-R − b)/m. They are per device and per reading (a hot-swap
// controller's current coefficient also depends on its sense resistor) and
// come from the device's datasheet.
type Coefficients struct {
	M int // slope, -32768..32767, not 0
	B int // offset, -32768..32767
	R int // decimal exponent, -15..15
}

// Limits of Coefficients: m and b are two's complement words and R a
// signed byte on the wire (COEFFICIENTS); no device uses an R beyond ±15.
const (
	MaxCoefficientMB = math.MaxInt16
	MinCoefficientMB = math.MinInt16
	MaxCoefficientR  = 15
)

// ErrNoCoefficients means a reading is in the DIRECT format and no
// coefficients were given for it.
var ErrNoCoefficients = errors.New("the reading is in the DIRECT format and has no coefficients: add a direct block for it to the psu in the platform file, with m, b and R from the device's datasheet")

// ErrBadCoefficients means Coefficients cannot decode anything.
var ErrBadCoefficients = errors.New("invalid DIRECT coefficients")

// Validate reports whether c can be used: m not 0, m and b within a word,
// R within ±15.
func (c Coefficients) Validate() error {
	switch {
	case c.M == 0:
		return fmt.Errorf("%w: m is 0 (X = (Y·10^-R − b)/m needs m ≠ 0)", ErrBadCoefficients)
	case c.M < MinCoefficientMB || c.M > MaxCoefficientMB:
		return fmt.Errorf("%w: m = %d is outside %d..%d", ErrBadCoefficients, c.M, MinCoefficientMB, MaxCoefficientMB)
	case c.B < MinCoefficientMB || c.B > MaxCoefficientMB:
		return fmt.Errorf("%w: b = %d is outside %d..%d", ErrBadCoefficients, c.B, MinCoefficientMB, MaxCoefficientMB)
	case c.R < -MaxCoefficientR || c.R > MaxCoefficientR:
		return fmt.Errorf("%w: R = %d is outside %d..%d", ErrBadCoefficients, c.R, -MaxCoefficientR, MaxCoefficientR)
	}
	return nil
}

func (c Coefficients) String() string { return fmt.Sprintf("m=%d b=%d R=%d", c.M, c.B, c.R) }

// DecodeDirect decodes a DIRECT word, a two's complement Y, with c. c must
// be valid (Validate); an m of 0 gives ±Inf or NaN.
func DecodeDirect(raw uint16, c Coefficients) float64 {
	return (float64(int16(raw))*math.Pow10(-c.R) - float64(c.B)) / float64(c.M)
}

// EncodeDirect encodes v as a DIRECT word with c, rounding Y to nearest.
func EncodeDirect(v float64, c Coefficients) (uint16, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	y := math.Round((float64(c.M)*v + float64(c.B)) * math.Pow10(c.R))
	if math.IsNaN(y) || y < math.MinInt16 || y > math.MaxInt16 {
		return 0, fmt.Errorf("cannot encode %v in DIRECT with %s (Y = %v does not fit a word): %w", v, c, y, ErrRange)
	}
	return uint16(int16(y)), nil
}

// Quantity names a reading whose format a platform file may set to DIRECT.
type Quantity string

// Readings that may be in the DIRECT format.
const (
	QuantityVin         Quantity = "vin"         // READ_VIN, volts
	QuantityVout        Quantity = "vout"        // READ_VOUT, volts (DIRECT when VOUT_MODE says so)
	QuantityIout        Quantity = "iout"        // READ_IOUT, amperes
	QuantityIin         Quantity = "iin"         // READ_IIN, amperes
	QuantityPin         Quantity = "pin"         // READ_PIN, watts
	QuantityPout        Quantity = "pout"        // READ_POUT, watts
	QuantityTemperature Quantity = "temperature" // READ_TEMPERATURE_1, °C
)

// Quantities lists every Quantity, for validation and help texts.
var Quantities = []Quantity{QuantityVin, QuantityVout, QuantityIout, QuantityIin, QuantityPin, QuantityPout, QuantityTemperature}
