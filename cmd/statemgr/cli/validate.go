package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
)

// errInvalid marks a platform file or machine that failed validation; the
// report has already been printed.
var errInvalid = errors.New("validation failed")

func newValidateCommand(g *globals) *cobra.Command {
	var dot bool
	cmd := &cobra.Command{
		Use:   "validate [platform-file]",
		Short: "Check a platform file and every component's state machine",
		Long: `Parses the platform file (the built-in default platform without one), applies its
machine extensions and checks every component's state machine: every state reachable,
every non-error state with a way out, every transitional state with a timeout or an
error exit, no two transitions from one state on one trigger with overlapping guards,
every guard and effect known. Problems are reported with their file location and the
command exits non-zero. --dot prints the machines as Graphviz DOT instead.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plat, name, err := loadPlatform(args)
			if err != nil {
				return err
			}
			return validate(cmd.OutOrStdout(), g.output, plat, name, dot)
		},
	}
	cmd.Flags().BoolVar(&dot, "dot", false, "print the machines as Graphviz DOT")
	return cmd
}

// loadPlatform parses the file named in args, or returns the default.
func loadPlatform(args []string) (*platform.Platform, string, error) {
	if len(args) == 0 {
		return platform.Default(), "built-in default platform", nil
	}
	src, err := platform.ReadSource(args[0])
	if err != nil {
		return nil, "", fmt.Errorf("cannot read platform file: %w", err)
	}
	plat, err := platform.Parse(args[0], src)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s:\n%w", errInvalid, args[0], err)
	}
	return plat, args[0], nil
}

// componentReport is one component's validation result.
type componentReport struct {
	ID          string   `json:"id"`
	States      int      `json:"states"`
	Transitions int      `json:"transitions"`
	Problems    []string `json:"problems,omitempty"`
}

func validate(w io.Writer, output string, plat *platform.Platform, name string, dot bool) error {
	comps, err := plat.Components()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errInvalid, name, err)
	}
	if dot {
		return machine.DOT(w, distinctMachines(comps)...)
	}
	var reports []componentReport
	bad := 0
	for _, c := range comps {
		r := componentReport{ID: c.ID, States: len(c.Machine.States), Transitions: len(c.Machine.Transitions)}
		for _, p := range machine.Validate(c.Machine) {
			r.Problems = append(r.Problems, p.String())
		}
		if len(r.Problems) > 0 {
			bad++
		}
		reports = append(reports, r)
	}
	if output == outputJSON {
		if err := json.NewEncoder(w).Encode(map[string]any{"platform": name, "components": reports, "ok": bad == 0}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "%s:\n", name)
		for _, r := range reports {
			if len(r.Problems) == 0 {
				fmt.Fprintf(w, "  ok   %-20s %d states, %d transitions\n", r.ID, r.States, r.Transitions)
				continue
			}
			fmt.Fprintf(w, "  FAIL %-20s %d problems\n", r.ID, len(r.Problems))
			for _, p := range r.Problems {
				fmt.Fprintf(w, "         %s\n", p)
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%w: %d of %d components have problems", errInvalid, bad, len(reports))
	}
	return nil
}

// distinctMachines returns each different machine once: hosts of one
// platform share a machine unless an extension names one of them.
func distinctMachines(comps []platform.Component) []*machine.Machine {
	var out []*machine.Machine
next:
	for _, c := range comps {
		for _, m := range out {
			if reflect.DeepEqual(m, c.Machine) {
				continue next
			}
		}
		out = append(out, c.Machine)
	}
	return out
}
