package platform

import (
	"errors"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/adapters"
)

// withDirect puts blocks into minimal's smbus psu, after its backend line
// (line 6), so the first block's header is on line 7.
func withDirect(t *testing.T, blocks string) string {
	t.Helper()
	return edit(t, "backend = \"smbus\"\n", "backend = \"smbus\"\n"+blocks)
}

func TestDirectCoefficientsAreRead(t *testing.T) {
	// The ADM1272's VIN (100 V range) and IOUT (30 mV range, 2 mΩ sense
	// resistor: m = 663 per mΩ).
	src := withDirect(t, `    direct "vin" {
      m = 4062
      b = 0
      r = -2
    }
    direct "iout" {
      m = 1326
      b = 20480
      r = -1
    }
`)
	p, err := Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := p.Chassis[0].PSUs[0].Direct
	want := map[adapters.Quantity]adapters.Coefficients{
		adapters.QuantityVin:  {M: 4062, B: 0, R: -2},
		adapters.QuantityIout: {M: 1326, B: 20480, R: -1},
	}
	if len(got) != len(want) {
		t.Fatalf("Direct = %v, want %v", got, want)
	}
	for q, c := range want {
		if got[q] != c {
			t.Errorf("Direct[%s] = %v, want %v", q, got[q], c)
		}
	}
	if p2, err := Parse("test.hcl", []byte(minimal)); err != nil || p2.Chassis[0].PSUs[0].Direct != nil {
		t.Fatalf("a psu without direct blocks: Direct = %v, err %v; want nil", p2.Chassis[0].PSUs[0].Direct, err)
	}
}

func TestDirectMistakesNameTheirPlace(t *testing.T) {
	block := func(label, body string) string {
		return "    direct \"" + label + "\" {\n" + body + "    }\n"
	}
	const good = "      m = 4062\n      b = 0\n      r = -2\n"
	tests := []struct {
		name      string
		src       func(t *testing.T) string
		line, col int
		want      string
	}{
		{"unknown reading", func(t *testing.T) string { return withDirect(t, block("vcc", good)) }, 7, 12,
			`psu "psu0": direct "vcc" is not a reading; readings are vin, vout, iout, iin, pin, pout, temperature`},
		{"m of 0", func(t *testing.T) string {
			return withDirect(t, block("vin", "      m = 0\n      b = 0\n      r = -2\n"))
		}, 8, 11,
			`psu "psu0": direct "vin": m must not be 0`},
		{"m beyond a word", func(t *testing.T) string {
			return withDirect(t, block("vin", "      m = 40620\n      b = 0\n      r = -2\n"))
		}, 8, 11, "m 40620 is out of range -32768..32767"},
		{"b beyond a word", func(t *testing.T) string {
			return withDirect(t, block("vin", "      m = 1\n      b = -40000\n      r = -2\n"))
		}, 9, 11, "b -40000 is out of range -32768..32767"},
		{"R beyond 15", func(t *testing.T) string {
			return withDirect(t, block("vin", "      m = 1\n      b = 0\n      r = 16\n"))
		}, 10, 11, "r 16 is out of range -15..15"},
		{"missing r", func(t *testing.T) string { return withDirect(t, block("vin", "      m = 1\n      b = 0\n")) }, 7, 18,
			`The argument "r" is required`},
		{"duplicate reading", func(t *testing.T) string { return withDirect(t, block("vin", good)+block("vin", good)) }, 12, 12,
			`psu "psu0": duplicate direct "vin" (first at test.hcl:7:12)`},
		{"not an smbus psu", func(t *testing.T) string {
			return strings.Replace(withDirect(t, block("vin", good)), `backend = "smbus"`, `backend = "hwmon"`, 1)
		}, 7, 5, `psu "psu0": direct applies only to backend "smbus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.hcl", []byte(tt.src(t)))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			for _, d := range perr.Diagnostics {
				if strings.Contains(d.Message, tt.want) {
					if d.Line != tt.line || d.Column != tt.col {
						t.Errorf("%q at %d:%d, want %d:%d", d.Message, d.Line, d.Column, tt.line, tt.col)
					}
					return
				}
			}
			t.Fatalf("no diagnostic says %q; got:\n%v", tt.want, err)
		})
	}
}
