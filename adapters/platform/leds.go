package platform

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/adapters"
)

// LEDKind is what an LED shows.
type LEDKind string

// The LED kinds a location may have, one LED each.
const (
	LEDPower    LEDKind = "power"    // on while powered, blinking while powering on or off
	LEDFault    LEDKind = "fault"    // on while the location or one it contains is in Error or has an alert
	LEDIdentify LEDKind = "identify" // blinking while an operator identifies the location
)

// LEDKinds lists the kinds in the order a location's LEDs are reported.
var LEDKinds = []LEDKind{LEDPower, LEDFault, LEDIdentify}

// LED is one indicator of a host, chassis or the BMC: a GPIO line or a
// Linux leds-class device (/sys/class/leds/<Sysfs>, such as a PCA955x
// output on I2C), exactly one of them.
type LED struct {
	Kind  LEDKind
	Line  adapters.LineConfig // a GPIO line; Line.Name is "" for a leds-class LED
	Sysfs string              // the leds-class device's name; "" for a GPIO line
}

// Where names the LED's wiring for logs: the line or the leds-class path.
func (l LED) Where() string {
	if l.Sysfs != "" {
		return "/sys/class/leds/" + l.Sysfs
	}
	return "gpio " + l.Line.Name
}

var ledSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "line"}, {Name: "polarity"}, {Name: "sysfs"},
}}

// leds decodes the led blocks of the location named where ("host 0"):
// one per kind, each a GPIO line (line, polarity) or a leds-class device
// (sysfs).
func (p *parser) leds(blocks hcl.Blocks, where string) []LED {
	var out []LED
	seen := map[LEDKind]hcl.Range{}
	for _, b := range blocks {
		kind := LEDKind(b.Labels[0])
		if !knownLEDKind(kind) {
			p.errorf(b.LabelRanges[0], "%s: unknown led kind %q; kinds are %s", where, kind, ledKindNames())
			continue
		}
		if first, dup := seen[kind]; dup {
			p.errorf(b.LabelRanges[0], "%s: duplicate led %q (first at %s)", where, kind, pos(first))
			continue
		}
		seen[kind] = b.LabelRanges[0]
		user := fmt.Sprintf("%s led %s", where, kind)
		c := p.content(b.Body, ledSchema)
		a := c.Attributes
		_, hasLine := a["line"]
		_, hasSysfs := a["sysfs"]
		led := LED{Kind: kind}
		switch {
		case hasLine && hasSysfs:
			p.errorf(b.DefRange, "%s: give either line and polarity (a GPIO line) or sysfs (a /sys/class/leds device), not both", user)
			continue
		case hasSysfs:
			if _, pol := a["polarity"]; pol {
				p.errorf(a["polarity"].Expr.Range(), "%s: polarity is for a GPIO line; a leds-class LED is active when its brightness is above 0", user)
			}
			led.Sysfs = p.nonEmpty(a, "sysfs", "")
			if led.Sysfs != "" && !validLEDName(led.Sysfs) {
				p.errorf(a["sysfs"].Expr.Range(), "%s: sysfs %q is not a leds-class name: give the directory name under /sys/class/leds, such as \"pca955x:green:power\", without '/'", user, led.Sysfs)
			}
		case hasLine:
			if _, pol := a["polarity"]; !pol {
				p.errorf(b.DefRange, "%s: a GPIO led needs polarity (\"active-high\" or \"active-low\")", user)
				continue
			}
			led.Line = p.lineAttrs(a, user)
		default:
			p.errorf(b.DefRange, "%s: say how the LED is wired: line and polarity (a GPIO line) or sysfs (a /sys/class/leds device)", user)
			continue
		}
		out = append(out, led)
	}
	return out
}

func knownLEDKind(k LEDKind) bool {
	for _, have := range LEDKinds {
		if have == k {
			return true
		}
	}
	return false
}

func ledKindNames() string {
	out := make([]string, len(LEDKinds))
	for i, k := range LEDKinds {
		out[i] = string(k)
	}
	return strings.Join(out, ", ")
}

// validLEDName reports whether name can be a directory of /sys/class/leds:
// no path separator, not "." or "..", printable.
func validLEDName(name string) bool {
	if name == "." || name == ".." || len(name) > 255 {
		return false
	}
	for _, r := range name {
		if r == '/' || r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// LEDLocation is a host, chassis or the BMC with its LEDs, and the
// components its fault LED covers: itself, and for a chassis the hosts
// it powers.
type LEDLocation struct {
	ID     actors.ID
	LEDs   []LED
	Covers []actors.ID
}

// LEDLocations returns the locations with at least one LED: the BMC, then
// each chassis, then each host, in file order.
func (p *Platform) LEDLocations() []LEDLocation {
	var out []LEDLocation
	add := func(id actors.ID, leds []LED, covers ...actors.ID) {
		if len(leds) > 0 {
			out = append(out, LEDLocation{ID: id, LEDs: leds, Covers: append([]actors.ID{id}, covers...)})
		}
	}
	add(actors.ID(actors.KindBMC+"."+p.BMC.Name), p.BMC.LEDs)
	for _, ch := range p.Chassis {
		var hosts []actors.ID
		for _, h := range p.Hosts {
			if h.Chassis == ch.Name {
				hosts = append(hosts, actors.ID(actors.KindHost+"."+h.Name))
			}
		}
		add(actors.ID(actors.KindChassis+"."+ch.Name), ch.LEDs, hosts...)
	}
	for _, h := range p.Hosts {
		add(actors.ID(actors.KindHost+"."+h.Name), h.LEDs)
	}
	return out
}
