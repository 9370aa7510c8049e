package platform

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// InputKind is what an external input reports.
type InputKind string

// External input kinds: the subject statemgr.input.<kind>.<name> carries
// the reports.
const (
	InputThermal InputKind = "thermal" // a thermal zone's temperature or level (a thermal manager)
	InputHealth  InputKind = "health"  // a sensor's health (a sensor monitor)
)

// Input is a reading another BMC service publishes over NATS (an "input"
// block): a thermal zone judged by a thermal manager, or a sensor's health
// from a sensor monitor. Its reports feed the same interlocks and
// emergencies as the board's own thermal zones and PSUs.
type Input struct {
	Kind InputKind
	Name string // one NATS subject token; unique within its kind
	// Hosts are the hosts the input concerns, by host name; empty: every
	// host.
	Hosts []string
	// Warning and Critical are the limits (°C) a thermal report in
	// Celsius is judged against, when it names no level itself.
	Warning, Critical float64
	// StaleAfter is how long a report stays true: an input with no report
	// for longer (or none since statemgrd started) is unknown.
	StaleAfter time.Duration
	// UnknownBlocksPowerOn makes an unknown input refuse power-ons of its
	// hosts (the thermal or health interlock) until it reports again.
	UnknownBlocksPowerOn bool
}

// Input defaults and limits.
const (
	DefaultInputStaleAfter = 30 * time.Second
	MaxInputStaleAfter     = time.Hour
)

var inputSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "hosts"}, {Name: "warning"}, {Name: "critical"}, {Name: "stale_after"}, {Name: "unknown_blocks_power_on"},
}}

// inputs reads the "input" blocks. A thermal input's name must differ from
// every thermal_zone's: both are zones to the coordinator.
func (p *parser) inputs(blocks hcl.Blocks) []Input {
	seen := map[InputKind]*names{InputThermal: newNames("thermal input"), InputHealth: newNames("health input")}
	var out []Input
	for _, b := range blocks {
		in := Input{Kind: InputKind(b.Labels[0]), Name: b.Labels[1], StaleAfter: DefaultInputStaleAfter, UnknownBlocksPowerOn: true}
		known, ok := seen[in.Kind]
		if !ok {
			p.errorf(b.LabelRanges[0], "input kind %q is not %s or %s", in.Kind, InputThermal, InputHealth)
			continue
		}
		if !namePattern.MatchString(in.Name) {
			p.errorf(b.LabelRanges[1], "input name %q: use letters, digits, '_' and '-' (it is a NATS subject token)", in.Name)
			continue
		}
		if !known.add(&p.decoder, in.Name, b.LabelRanges[1]) {
			continue
		}
		if in.Kind == InputThermal && p.zoneN.has(in.Name) {
			p.errorf(b.LabelRanges[1], "thermal input %q has the name of a thermal_zone; give it another", in.Name)
			continue
		}
		c := p.content(b.Body, inputSchema)
		a := c.Attributes
		if attr, given := a["hosts"]; given {
			in.Hosts = p.strList(a, "hosts")
			p.refs(attr, in.Hosts, p.hostN)
			if len(in.Hosts) == 0 {
				p.errorf(attr.Expr.Range(), "hosts is empty; leave it out to mean every host")
			}
		}
		in.StaleAfter = p.duration(a, "stale_after", in.StaleAfter, false)
		if in.StaleAfter > MaxInputStaleAfter {
			p.errorf(a["stale_after"].Expr.Range(), "stale_after %v is longer than the %v allowed", in.StaleAfter, MaxInputStaleAfter)
		}
		in.UnknownBlocksPowerOn = value(&p.decoder, a, "unknown_blocks_power_on", in.UnknownBlocksPowerOn)
		switch in.Kind {
		case InputThermal:
			_, hasW := a["warning"]
			_, hasC := a["critical"]
			if !hasW || !hasC {
				p.errorf(b.DefRange, "thermal input %q needs warning and critical limits (°C), for reports in Celsius", in.Name)
			}
			in.Warning = p.number(a, "warning", 0)
			in.Critical = p.number(a, "critical", 0)
			if hasW && hasC && in.Critical <= in.Warning {
				p.errorf(a["critical"].Expr.Range(), "critical limit %g °C must be above the warning limit %g °C", in.Critical, in.Warning)
			}
		case InputHealth:
			for _, n := range []string{"warning", "critical"} {
				if attr, given := a[n]; given {
					p.errorf(attr.NameRange, "%s does not apply to a health input: its reports carry their level", n)
				}
			}
		}
		out = append(out, in)
	}
	return out
}
