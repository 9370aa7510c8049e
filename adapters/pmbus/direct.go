package pmbus

import (
	"errors"
	"fmt"
	"math"

	"github.com/statemgr/statemgr/adapters"
)

// ErrNoCoefficients means a reading is in the DIRECT format and no
// coefficients were given for it.
var ErrNoCoefficients = errors.New("the reading is in the DIRECT format and has no coefficients: add a direct block for it to the psu in the platform file, with m, b and R from the device's datasheet")

// DecodeDirect decodes a DIRECT word, a two's complement Y, with c. c must
// be valid (Validate); an m of 0 gives ±Inf or NaN.
func DecodeDirect(raw uint16, c adapters.Coefficients) float64 {
	return (float64(int16(raw))*math.Pow10(-c.R) - float64(c.B)) / float64(c.M)
}

// EncodeDirect encodes v as a DIRECT word with c, rounding Y to nearest.
func EncodeDirect(v float64, c adapters.Coefficients) (uint16, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	y := math.Round((float64(c.M)*v + float64(c.B)) * math.Pow10(c.R))
	if math.IsNaN(y) || y < math.MinInt16 || y > math.MaxInt16 {
		return 0, fmt.Errorf("cannot encode %v in DIRECT with %s (Y = %v does not fit a word): %w", v, c, y, ErrRange)
	}
	return uint16(int16(y)), nil
}
