package machine

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DOT writes machines as one Graphviz digraph, one cluster per machine.
// Node ids are "<kind>.<state>" ("<kind>#2.<state>" for a second machine of
// the same kind). Styles:
//
//   - the initial state is bold, transitional states dashed, error states
//     red;
//   - request edges are solid, observation edges dotted, timeout edges red
//     and dashed and labelled with the timeout;
//   - labels show guards in brackets and effects after a slash.
func DOT(w io.Writer, machines ...*Machine) error {
	var b strings.Builder
	b.WriteString("digraph statemgr {\n\trankdir=LR;\n\tnode [shape=box, style=rounded, fontname=Helvetica];\n\tedge [fontname=Helvetica, fontsize=10];\n")
	seen := map[string]int{}
	for i, m := range machines {
		if m == nil {
			return fmt.Errorf("cannot render machine %d: %w: machine is nil", i, ErrInvalidMachine)
		}
		seen[m.Kind]++
		prefix := m.Kind
		if n := seen[m.Kind]; n > 1 {
			prefix = fmt.Sprintf("%s#%d", m.Kind, n)
		}
		id := func(state string) string { return strconv.Quote(prefix + "." + state) }
		fmt.Fprintf(&b, "\tsubgraph %s {\n\t\tlabel=%s;\n", strconv.Quote("cluster_"+prefix), strconv.Quote(prefix))
		for _, s := range m.States {
			styles := []string{"rounded"}
			attrs := []string{"label=" + strconv.Quote(s.Name)}
			if s.Name == m.Initial {
				styles = append(styles, "bold")
			}
			switch s.Kind {
			case Transitional:
				styles = append(styles, "dashed")
			case ErrorKind:
				attrs = append(attrs, "color=red", "fontcolor=red")
			}
			attrs = append(attrs, "style="+strconv.Quote(strings.Join(styles, ",")))
			fmt.Fprintf(&b, "\t\t%s [%s];\n", id(s.Name), strings.Join(attrs, ", "))
		}
		for _, t := range m.Transitions {
			if t.Trigger == TriggerTimeout {
				continue // drawn with its state's timeout below
			}
			style := "solid"
			if !isRequestName(t.Trigger) {
				style = "dotted"
			}
			fmt.Fprintf(&b, "\t\t%s -> %s [label=%s, style=%s];\n", id(t.From), id(t.To), strconv.Quote(edgeLabel(t.Trigger, t)), style)
		}
		for _, s := range m.States {
			if s.Timeout == 0 {
				continue
			}
			label := fmt.Sprintf("%s %s", TriggerTimeout, s.Timeout)
			for _, t := range m.Transitions {
				if t.From == s.Name && t.Trigger == TriggerTimeout {
					label = edgeLabel(label, t)
				}
			}
			fmt.Fprintf(&b, "\t\t%s -> %s [label=%s, style=dashed, color=red, fontcolor=red];\n", id(s.Name), id(s.TimeoutTo), strconv.Quote(label))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("cannot write dot graph: %w", err)
	}
	return nil
}

func edgeLabel(trigger string, t Transition) string {
	label := trigger
	if len(t.Guards) > 0 {
		label += " [" + strings.Join(t.Guards, " ") + "]"
	}
	if len(t.Effects) > 0 {
		label += " / " + strings.Join(t.Effects, ", ")
	}
	return label
}
