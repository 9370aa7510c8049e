//go:build !bmc

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/sim"
)

func newSimCommand(g *globals) *cobra.Command {
	var (
		seed     uint64
		runs     int
		steps    int
		scenario string
		replay   string
		trace    bool
		minimize string
		withIn   bool
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulate the whole system on a virtual clock and check its invariants",
		Long: `Run statemgr (components, coordinator, devices on the simulated platform,
the in-memory log) on a virtual clock, drawing actions (requests, hardware
faults, crashes, restarts, time) from a seed and checking every invariant
after every step. The same seed gives the same trace, byte for byte.

  --runs N       a campaign of N runs (seeds --seed, --seed+1, ...), with a
                 progress bar on a terminal and a summary at the end
  --seed S       alone: replay run S and print its trace (a failing
                 property test prints the seed to pass here)
  --replay FILE  run the actions of FILE (the JSON reproduction a failure
                 prints, shrunk by rapid) and print the trace
  --scenario N   run the field scenario N and print its trace
  --minimize F   when a run breaks an invariant, remove every action the
                 failure does not need (replaying it, runs are
                 deterministic) and write the minimal actions to F as
                 JSON, for --replay
  --inputs       simulate the built-in platform with external inputs
                 declared (a thermal input "inlet", critical 90 °C, whose
                 silence blocks power-ons, and a health input "vr0"), and
                 draw input actions too: reports, silence past the
                 staleness timeout, flapping, and lies against the board's
                 own zones; the input invariants are checked as well. With
                 --seed, --replay or --minimize, pass it again to replay.`,
		Example: `  statemgr sim --runs 200 --steps 400
  statemgr sim --seed 1234 --steps 400
  statemgr sim --replay repro.json
  statemgr sim --seed 1234 --steps 400 --minimize repro.json
  statemgr sim --inputs --runs 50 --steps 300
  statemgr sim --scenario apr-not-on-restart`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			traceOut := traceTo(out, trace || g.output == outputText)
			var opts sim.Options
			if withIn {
				opts.Platform = sim.InputsPlatform()
			}
			switch {
			case scenario != "":
				s, ok := sim.ScenarioNamed(scenario)
				if !ok {
					return fmt.Errorf("%w: no scenario %q: use one of %s", errUsage, scenario, scenarioNames())
				}
				r, err := s.Run(ctx, traceOut)
				return simResult(g, out, r, err)
			case replay != "":
				src, err := os.ReadFile(replay)
				if err != nil {
					return err
				}
				var actions []sim.Action
				if err := json.Unmarshal(src, &actions); err != nil {
					return fmt.Errorf("%w: %s is not a JSON list of actions: %w", errUsage, replay, err)
				}
				r, err := sim.Run(ctx, opts, actions, traceOut)
				return minimized(ctx, cmd.ErrOrStderr(), opts, minimize, actions, simResult(g, out, r, err))
			case cmd.Flags().Changed("seed") && !cmd.Flags().Changed("runs"):
				actions := sim.ActionsFor(opts, seed, steps)
				r, err := sim.Run(ctx, opts, actions, traceOut)
				return minimized(ctx, cmd.ErrOrStderr(), opts, minimize, actions, simResult(g, out, r, err))
			}
			c := sim.Campaign{Options: opts, Runs: runs, Steps: steps, Seed: seed, Workers: runtime.GOMAXPROCS(0)}
			failed, err := simCampaign(ctx, g, cmd.ErrOrStderr(), out, c)
			if failed == nil {
				return err
			}
			return minimized(ctx, cmd.ErrOrStderr(), opts, minimize, failed.Actions, err)
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&seed, "seed", 1, "seed of the run to replay, or of a campaign's first run")
	f.IntVar(&runs, "runs", 100, "runs of a campaign")
	f.IntVar(&steps, "steps", 400, "actions per run")
	f.StringVar(&scenario, "scenario", "", "field scenario to run: "+scenarioNames())
	f.StringVar(&replay, "replay", "", "JSON file of actions to run (a failure's reproduction)")
	f.BoolVar(&trace, "trace", false, "print the trace of a single run with -o json too")
	f.StringVar(&minimize, "minimize", "", "on a broken invariant, write the minimal failing actions to this JSON file")
	f.BoolVar(&withIn, "inputs", false, "simulate the platform with external inputs (thermal inlet, health vr0) and draw input actions")
	return cmd
}

func scenarioNames() string {
	var names []string
	for _, s := range sim.Scenarios {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// traceTo returns w when a trace is wanted.
func traceTo(w io.Writer, want bool) io.Writer {
	if want {
		return w
	}
	return nil
}

// simResult prints one run's outcome.
func simResult(g *globals, out io.Writer, r sim.Report, err error) error {
	if g.output == outputJSON {
		res := struct {
			Summary   sim.Summary    `json:"summary"`
			Violation *sim.Violation `json:"violation,omitempty"`
			Error     string         `json:"error,omitempty"`
		}{Summary: r.Summary}
		if v, ok := sim.IsViolation(err); ok {
			res.Violation = v
		} else if err != nil {
			res.Error = err.Error()
		}
		if perr := printJSON(out, res); perr != nil {
			return perr
		}
		return err
	}
	if err == nil {
		fmt.Fprintf(out, "ok: %d actions, %s of virtual time, every invariant held\n", r.Actions, r.Virtual)
		if len(r.LEDs.Locations) > 0 {
			fmt.Fprintln(out, "LEDs at the end:")
			for _, loc := range r.LEDs.Locations {
				printLocation(out, loc)
			}
		}
	}
	return err
}

// minimized writes to file, if set, the minimal actions that still break
// the invariant err names (sim.Minimize) and says so on w; it returns err.
func minimized(ctx context.Context, w io.Writer, opts sim.Options, file string, actions []sim.Action, err error) error {
	v, ok := sim.IsViolation(err)
	if file == "" || !ok {
		return err
	}
	fmt.Fprintf(w, "minimizing the %d actions that break %s (one run per candidate)...\n", len(actions), v.Invariant)
	minimal, merr := sim.Minimize(ctx, opts, actions, v.Invariant)
	if merr != nil {
		return errors.Join(err, fmt.Errorf("cannot minimize: %w", merr))
	}
	data, merr := json.MarshalIndent(minimal, "", "  ")
	if merr == nil {
		merr = os.WriteFile(file, append(data, '\n'), 0o644)
	}
	if merr != nil {
		return errors.Join(err, fmt.Errorf("cannot write the minimal reproduction: %w", merr))
	}
	fmt.Fprintf(w, "%d actions still break %s: replay them with statemgr sim --replay %s\n", len(minimal), v.Invariant, file)
	return err
}

// simCampaign runs a campaign with a progress bar on a terminal and prints
// its summary; it returns the first failed run, if any.
func simCampaign(ctx context.Context, g *globals, errw, out io.Writer, c sim.Campaign) (*sim.Failure, error) {
	if isTerminal(errw) {
		c.Progress = func(done, total int, sum sim.Summary) {
			const width = 30
			n := done * width / max(total, 1)
			fmt.Fprintf(errw, "\r[%s%s] %d/%d runs, %d actions", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, sum.Actions)
		}
	}
	sum, failures := c.Run(ctx)
	if c.Progress != nil {
		fmt.Fprintln(errw)
	}
	var err error
	var first *sim.Failure
	if len(failures) > 0 {
		f := failures[0]
		first = &f
		flag := ""
		if c.Options.Platform != nil && len(c.Options.Platform.Inputs) > 0 {
			flag = "--inputs "
		}
		err = fmt.Errorf("run with seed %d failed: %w\nreplay it: statemgr sim %s--seed %d --steps %d", f.Seed, f.Err, flag, f.Seed, c.Steps)
	}
	if g.output == outputJSON {
		res := struct {
			sim.Summary
			ActionsPerSecond float64  `json:"actions_per_second"`
			Failed           []uint64 `json:"failed_seeds,omitempty"`
		}{Summary: sum, ActionsPerSecond: sum.ActionsPerSecond()}
		for _, f := range failures {
			res.Failed = append(res.Failed, f.Seed)
		}
		if perr := printJSON(out, res); perr != nil {
			return first, perr
		}
		return first, err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "runs\t%d\n", sum.Runs)
	fmt.Fprintf(tw, "actions\t%d\t(%.0f simulated actions/s, %s of virtual time in %s)\n", sum.Actions, sum.ActionsPerSecond(), sum.Virtual, sum.Elapsed.Round(1e6))
	fmt.Fprintf(tw, "faults injected\t%d\n", sum.Faults)
	fmt.Fprintf(tw, "crashes\t%d\n", sum.Crashes)
	printCounts(tw, "actions by kind", sum.ByKind)
	printCounts(tw, "invariants checked", sum.Invariants)
	printCounts(tw, "sagas by outcome", sum.Sagas)
	if ferr := tw.Flush(); ferr != nil {
		return first, ferr
	}
	return first, err
}

// printCounts writes one line per key, sorted.
func printCounts[K ~string](w io.Writer, title string, m map[K]int) {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "%s\n", title)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s\t%d\n", k, m[k])
	}
}
