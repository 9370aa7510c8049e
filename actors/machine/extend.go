package machine

import (
	"fmt"
	"slices"
	"strings"
)

// Extend returns a copy of base with the states and transitions of exts
// added, in order, and validates the result; base is not modified. An
// extension may add states, and transitions from or to any state, but may
// not redefine a state or add a transition that could fire together with an
// existing one (same state and trigger, guards not exclusive): such
// conflicts are reported, with every other problem, as an
// *InvalidMachineError whose problems point at the extension's Source (or
// the state's or transition's own Source, when set).
//
// ext.Machine must name base's kind ("service") or a component of that kind
// ("service.sync"); choosing which component gets which extension is the
// caller's business.
func Extend(base *Machine, exts ...Extension) (*Machine, error) {
	if base == nil {
		return nil, &InvalidMachineError{Problems: Validate(nil)}
	}
	m := clone(base)
	var problems []Problem
	conflict := func(source, format string, args ...any) {
		problems = append(problems, Problem{Source: source, Machine: m.Kind, Message: fmt.Sprintf(format, args...)})
	}
	for _, ext := range exts {
		if ext.Machine != m.Kind && !strings.HasPrefix(ext.Machine, m.Kind+".") {
			conflict(ext.Source, "extension for %q cannot extend a %s machine", ext.Machine, m.Kind)
			continue
		}
		for _, s := range ext.States {
			if s.Source == "" {
				s.Source = ext.Source
			}
			if i := slices.IndexFunc(m.States, func(old State) bool { return old.Name == s.Name }); i >= 0 {
				conflict(s.Source, "extension redefines state %s (defined at %s)", s.Name, where(m.States[i].Source))
				continue
			}
			m.States = append(m.States, s)
		}
		for _, t := range ext.Transitions {
			if t.Source == "" {
				t.Source = ext.Source
			}
			t.Guards = slices.Clone(t.Guards)
			t.Effects = slices.Clone(t.Effects)
			m.Transitions = append(m.Transitions, t)
		}
	}
	// Validation finds the transition conflicts (checkOverlaps), unknown
	// names and broken graphs, each pointing at the offending source.
	problems = append(problems, Validate(m)...)
	if len(problems) > 0 {
		return nil, &InvalidMachineError{Machine: m.Kind, Problems: problems}
	}
	return m, nil
}

// clone deep-copies a machine so that extending it cannot alias base's
// slices.
func clone(m *Machine) *Machine {
	c := *m
	c.States = slices.Clone(m.States)
	c.Transitions = slices.Clone(m.Transitions)
	for i := range c.Transitions {
		c.Transitions[i].Guards = slices.Clone(c.Transitions[i].Guards)
		c.Transitions[i].Effects = slices.Clone(c.Transitions[i].Effects)
	}
	return &c
}
