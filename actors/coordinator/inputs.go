package coordinator

import (
	"fmt"
	"slices"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/adapters/platform"
)

// Levels an external input reports (InputReading.Level). A thermal input
// at LevelWarning or above refuses power-ons (the thermal interlock) and
// at LevelCritical starts the thermal emergency; a health input at
// LevelCritical refuses power-ons (the health interlock).
const (
	LevelNormal   = "normal" // thermal
	LevelOK       = "ok"     // health
	LevelWarning  = "warning"
	LevelCritical = "critical"
)

// InputReading is what an external input (another BMC service reporting
// over NATS: a platform file's input block) says at the moment it is read.
type InputReading struct {
	Kind platform.InputKind
	Name string
	// Hosts are the hosts it concerns; empty: every host.
	Hosts []actors.ID
	// Known is false when the input has not reported within its staleness
	// timeout (or at all since statemgrd started).
	Known bool
	// UnknownBlocksPowerOn: an unknown input refuses power-ons of its
	// hosts, as the platform file says.
	UnknownBlocksPowerOn bool
	Level                string
	// Detail is the evidence: what was reported, by whom and when, or why
	// the input is unknown.
	Detail string
	// LastReport is when the input last reported; zero: not since
	// statemgrd started.
	LastReport time.Time
}

// Inputs gives the external inputs' current readings; server/inputs
// implements it over the reports received on NATS. Readings must not
// block: it is called while every request is admitted.
type Inputs interface {
	Readings() []InputReading
}

// InputHosts returns the component ids of an input block's hosts (nil:
// every host).
func InputHosts(in platform.Input) []actors.ID {
	var out []actors.ID
	for _, h := range in.Hosts {
		out = append(out, actors.ID(actors.KindHost+"."+h))
	}
	return out
}

func (r InputReading) concerns(hosts []actors.ID) bool {
	return len(r.Hosts) == 0 || slices.ContainsFunc(hosts, func(h actors.ID) bool { return slices.Contains(r.Hosts, h) })
}

// inputRefusals returns, for a power-on of hosts, the reasons of the
// thermal and of the health interlock that the external inputs give.
func inputRefusals(readings []InputReading, hosts []actors.ID) (hot, sick []string) {
	for _, r := range readings {
		if !r.concerns(hosts) {
			continue
		}
		var reason string
		switch {
		case !r.Known && r.UnknownBlocksPowerOn:
			reason = fmt.Sprintf("input %s.%s is unknown (%s) and the platform file says an unknown input blocks power-on", r.Kind, r.Name, r.Detail)
		case !r.Known:
			continue
		case r.Kind == platform.InputThermal && (r.Level == LevelWarning || r.Level == LevelCritical),
			r.Kind == platform.InputHealth && r.Level == LevelCritical:
			reason = fmt.Sprintf("input %s.%s reports %s (%s)", r.Kind, r.Name, r.Level, r.Detail)
		default:
			continue
		}
		if r.Kind == platform.InputThermal {
			hot = append(hot, reason)
		} else {
			sick = append(sick, reason)
		}
	}
	return hot, sick
}

// criticalInputs returns the thermal inputs that report critical, with
// their evidence: zones of the thermal emergency.
func criticalInputs(readings []InputReading) (zones, evidence []string) {
	for _, r := range readings {
		if r.Kind == platform.InputThermal && r.Known && r.Level == LevelCritical {
			zones = append(zones, r.Name)
			evidence = append(evidence, fmt.Sprintf("input thermal.%s reports critical (%s)", r.Name, r.Detail))
		}
	}
	return zones, evidence
}

func (c *Coordinator) inputReadings() []InputReading {
	if c.cfg.Inputs == nil {
		return nil
	}
	return c.cfg.Inputs.Readings()
}
