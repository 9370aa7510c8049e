package adapters

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

// Unit returns the quantity's unit: "V", "A", "W" or "°C".
func (q Quantity) Unit() string {
	switch q {
	case QuantityVin, QuantityVout:
		return "V"
	case QuantityIout, QuantityIin:
		return "A"
	case QuantityPin, QuantityPout:
		return "W"
	case QuantityTemperature:
		return "°C"
	}
	return ""
}

// Quantities lists every Quantity, for validation and help texts.
var Quantities = []Quantity{QuantityVin, QuantityVout, QuantityIout, QuantityIin, QuantityPin, QuantityPout, QuantityTemperature}
