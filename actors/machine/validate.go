package machine

import (
	"fmt"
	"slices"
	"strings"
)

// Validate checks a machine and returns every problem found, in a stable
// order; nil means the machine is usable. It checks that:
//
//   - the machine has a kind, the initial state exists, state names are
//     unique and kinds known;
//   - every host and chassis state says what power good reads in it (on,
//     off or any) and no state of another kind does;
//   - timeouts are positive and lead to another declared state;
//   - transitions start and end at declared states, triggers are spelled as
//     requests (PascalCase) or observations (snake_case), and timeout
//     transitions match their state's timeout;
//   - every guard and effect name is known and effect parameters are valid;
//   - no two transitions share a state and trigger with guards that can
//     hold together (the interpreter must never have to choose);
//   - every state is reachable from the initial one;
//   - every non-error state has a way out, every error state has a request
//     leading out, and every transitional state has a timeout or an exit
//     into an error state, so nothing can wait forever unnoticed.
func Validate(m *Machine) []Problem {
	if m == nil {
		return []Problem{{Message: "machine is nil"}}
	}
	return validate(m).problems
}

// validate runs every check on a non-nil machine; Compile reuses the
// parsed guards and effects.
func validate(m *Machine) *validator {
	v := &validator{m: m, states: map[string]*State{}}
	v.checkStates()
	v.checkTransitions()
	v.checkOverlaps()
	v.checkGraph()
	return v
}

type validator struct {
	m        *Machine
	states   map[string]*State
	parsed   []parsedTransition // index-aligned with m.Transitions
	problems []Problem
}

// parsedTransition is a transition with its guards and effects resolved;
// ok is false if any of them failed to parse.
type parsedTransition struct {
	guards  []guardRef
	effects []effectRef
	ok      bool
}

func (v *validator) add(source, format string, args ...any) {
	v.problems = append(v.problems, Problem{Source: source, Machine: v.m.Kind, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) checkStates() {
	m := v.m
	if m.Kind == "" {
		v.add("", "machine has no kind")
	}
	for i := range m.States {
		s := &m.States[i]
		if s.Name == "" {
			v.add(s.Source, "state %d has no name", i)
			continue
		}
		if prev, dup := v.states[s.Name]; dup {
			v.add(s.Source, "state %s is defined twice (first at %s)", s.Name, where(prev.Source))
			continue
		}
		v.states[s.Name] = s
		switch s.Kind {
		case Stable, Transitional, ErrorKind:
		default:
			v.add(s.Source, "state %s has unknown kind %q (use %s, %s or %s)", s.Name, s.Kind, Stable, Transitional, ErrorKind)
		}
		v.checkPower(s)
	}
	if m.Initial == "" {
		v.add("", "machine has no initial state")
	} else if v.states[m.Initial] == nil {
		v.add("", "initial state %s is not declared", m.Initial)
	}
	for i := range m.States {
		s := &m.States[i]
		if v.states[s.Name] != s { // unnamed or a duplicate, reported above
			continue
		}
		switch {
		case s.Timeout < 0:
			v.add(s.Source, "state %s has a negative timeout %s", s.Name, s.Timeout)
		case s.Timeout > 0 && s.TimeoutTo == "":
			v.add(s.Source, "state %s has a timeout but no TimeoutTo", s.Name)
		case s.Timeout == 0 && s.TimeoutTo != "":
			v.add(s.Source, "state %s has TimeoutTo %s but no timeout", s.Name, s.TimeoutTo)
		case s.TimeoutTo == s.Name:
			v.add(s.Source, "state %s times out into itself, which would never end", s.Name)
		case s.TimeoutTo != "" && v.states[s.TimeoutTo] == nil:
			v.add(s.Source, "state %s times out into undeclared state %s", s.Name, s.TimeoutTo)
		}
	}
}

// checkPower requires a valid Power on every state of a host or chassis
// machine and refuses one on any other kind.
func (v *validator) checkPower(s *State) {
	powered := slices.Contains(PoweredKinds, v.m.Kind)
	switch {
	case !powered && s.Power != "":
		v.add(s.Source, "state %s has power %q, but a %s machine has no power good; remove it (only %s states have one)",
			s.Name, s.Power, v.m.Kind, strings.Join(PoweredKinds, " and "))
	case powered && s.Power == "":
		v.add(s.Source, "state %s has no power; say what power good reads in it (%s)", s.Name, powerChoices())
	case powered && !slices.Contains(Powers, s.Power):
		v.add(s.Source, "state %s has unknown power %q (use %s)", s.Name, s.Power, powerChoices())
	}
}

// powerChoices renders Powers as "on, off or any".
func powerChoices() string {
	names := make([]string, len(Powers))
	for i, p := range Powers {
		names[i] = string(p)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func (v *validator) checkTransitions() {
	v.parsed = make([]parsedTransition, len(v.m.Transitions))
	for i, t := range v.m.Transitions {
		p := parsedTransition{ok: true}
		from := v.states[t.From]
		if from == nil {
			v.add(t.Source, "transition %s --%s--> %s starts at undeclared state %s", t.From, t.Trigger, t.To, t.From)
			p.ok = false
		}
		if v.states[t.To] == nil {
			v.add(t.Source, "transition %s --%s--> %s targets undeclared state %s", t.From, t.Trigger, t.To, t.To)
			p.ok = false
		}
		switch {
		case t.Trigger == TriggerTimeout:
			if from != nil && from.Timeout == 0 {
				v.add(t.Source, "timeout transition from %s, which has no timeout", t.From)
			}
			if from != nil && from.Timeout > 0 && t.To != from.TimeoutTo {
				v.add(t.Source, "timeout transition from %s goes to %s but the state times out into %s", t.From, t.To, from.TimeoutTo)
			}
			if len(t.Guards) > 0 {
				v.add(t.Source, "timeout transition from %s has guards; a timeout always fires", t.From)
			}
		case !isRequestName(t.Trigger) && !isObservationName(t.Trigger):
			v.add(t.Source, "transition %s --%s--> %s: trigger %q is neither a request (PascalCase) nor an observation (snake_case)", t.From, t.Trigger, t.To, t.Trigger)
		}
		seen := map[string]bool{}
		for _, ref := range t.Guards {
			g, err := parseGuard(ref)
			if err != nil {
				v.add(t.Source, "transition %s --%s--> %s: %v", t.From, t.Trigger, t.To, err)
				p.ok = false
				continue
			}
			if seen[g.String()] {
				v.add(t.Source, "transition %s --%s--> %s lists guard %s twice", t.From, t.Trigger, t.To, g)
			}
			if seen[guardRef{name: g.name, negate: !g.negate}.String()] {
				v.add(t.Source, "transition %s --%s--> %s requires both %s and its negation, so it never fires", t.From, t.Trigger, t.To, g.name)
			}
			seen[g.String()] = true
			p.guards = append(p.guards, g)
		}
		for _, ref := range t.Effects {
			e, err := parseEffect(ref)
			if err != nil {
				v.add(t.Source, "transition %s --%s--> %s: %v", t.From, t.Trigger, t.To, err)
				p.ok = false
				continue
			}
			if t.Trigger == TriggerTimeout && e.readsInputValue() {
				v.add(t.Source, "timeout transition from %s: effect %s records an observed value, which a timeout has none of; set its %s parameter", t.From, e.name, e.spec.valueParam)
			}
			p.effects = append(p.effects, e)
		}
		v.parsed[i] = p
	}
}

// checkOverlaps reports transitions that share a state and a trigger and
// whose guards can hold at the same time. Two guard sets are exclusive only
// if one requires a guard the other requires negated.
func (v *validator) checkOverlaps() {
	ts := v.m.Transitions
	for i := range ts {
		for j := i + 1; j < len(ts); j++ {
			a, b := ts[i], ts[j]
			if a.From != b.From || a.Trigger != b.Trigger || !v.parsed[i].ok || !v.parsed[j].ok {
				continue
			}
			if !exclusive(v.parsed[i].guards, v.parsed[j].guards) {
				v.add(b.Source, "transitions %s --%s--> %s %s and --> %s %s (at %s) can both fire; make their guards exclusive",
					b.From, b.Trigger, b.To, guardList(b.Guards), a.To, guardList(a.Guards), where(a.Source))
			}
		}
	}
}

func exclusive(a, b []guardRef) bool {
	for _, ga := range a {
		for _, gb := range b {
			if ga.name == gb.name && ga.negate != gb.negate {
				return true
			}
		}
	}
	return false
}

func guardList(gs []string) string {
	if len(gs) == 0 {
		return "(unguarded)"
	}
	return "[" + strings.Join(gs, " ") + "]"
}

func (v *validator) checkGraph() {
	m := v.m
	out := map[string][]string{} // state -> targets, timeouts included
	requestExit := map[string]bool{}
	errorExit := map[string]bool{}
	for _, t := range m.Transitions {
		if v.states[t.From] == nil || v.states[t.To] == nil {
			continue
		}
		out[t.From] = append(out[t.From], t.To)
		if t.To != t.From && isRequestName(t.Trigger) {
			requestExit[t.From] = true
		}
		if v.states[t.To].Kind == ErrorKind && t.To != t.From {
			errorExit[t.From] = true
		}
	}
	for _, s := range v.states {
		if s.Timeout > 0 && v.states[s.TimeoutTo] != nil {
			out[s.Name] = append(out[s.Name], s.TimeoutTo)
		}
	}

	reached := map[string]bool{}
	if v.states[m.Initial] != nil {
		queue := []string{m.Initial}
		reached[m.Initial] = true
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for _, to := range out[s] {
				if !reached[to] {
					reached[to] = true
					queue = append(queue, to)
				}
			}
		}
	}

	// Report in declaration order, which is how people read the file.
	for i := range m.States {
		s := &m.States[i]
		if v.states[s.Name] != s { // unnamed or a duplicate, reported already
			continue
		}
		name := s.Name
		if v.states[m.Initial] != nil && !reached[name] {
			v.add(s.Source, "state %s is not reachable from the initial state %s", name, m.Initial)
		}
		leaves := slices.ContainsFunc(out[name], func(to string) bool { return to != name })
		switch s.Kind {
		case ErrorKind:
			if !requestExit[name] {
				v.add(s.Source, "error state %s has no request leading out of it (add a reset-like request)", name)
			}
		default:
			if !leaves {
				v.add(s.Source, "state %s has no way out", name)
			}
		}
		if s.Kind == Transitional && s.Timeout == 0 && !errorExit[name] {
			v.add(s.Source, "transitional state %s has neither a timeout nor an exit into an error state, so it could wait forever", name)
		}
	}
}

func where(source string) string {
	if source == "" {
		return "built-in"
	}
	return source
}
