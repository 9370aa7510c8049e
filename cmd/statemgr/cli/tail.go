package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

func newTailCommand(g *globals, cred *credentials) *cobra.Command {
	var (
		follow  bool
		from    string
		filter  server.EventFilter
		noColor bool
	)
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the event stream: history from a sequence, then live events with -f",
		Long: `Prints statemgr's events in global order with no gap and no duplicate: history is
paged from the log (statemgr.log.replay) and meets the live stream (statemgr.events.*.*)
without losing or repeating an event.

Without --from, tail -f prints only new events and tail prints the whole log. Text is
coloured on a terminal unless NO_COLOR is set or --no-color is given; -o json prints one
JSON object per line. Ctrl-C ends tail -f.`,
		Example: `  statemgr tail -f
  statemgr tail --from start --component host.0
  statemgr tail -f --from 1200 --kind chassis --type transition -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := client.TailOptions{Follow: follow, Filter: filter, RequestTimeout: g.timeout}
			switch from {
			case "":
			case "start":
				opts.From = 1
			default:
				n, err := strconv.ParseUint(from, 10, 64)
				if err != nil || n == 0 {
					return fmt.Errorf("%w: --from %q: pass a global sequence (1 or more) or \"start\"", errUsage, from)
				}
				opts.From = n
			}
			s, err := connect(g, cred)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			w := cmd.OutOrStdout()
			emit := eventPrinter{w: w, colour: !noColor && os.Getenv("NO_COLOR") == "" && isTerminal(w)}.print
			if g.output == outputJSON {
				enc := json.NewEncoder(w)
				emit = func(ev server.Event) { _ = enc.Encode(ev) }
			}
			err = s.client.Tail(ctx, opts, func(ev server.Event) error {
				emit(ev)
				return nil
			})
			if ctx.Err() != nil {
				return nil // interrupted: a normal end for tail -f
			}
			return describe(g.server, err)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new events")
	f.StringVar(&from, "from", "", `first global sequence to print, or "start"`)
	f.StringVar(&filter.Component, "component", "", "only events of this component, e.g. host.0")
	f.StringVar(&filter.Kind, "kind", "", "only events of this kind: host, chassis, bmc or service")
	f.StringVar(&filter.Type, "type", "", "only events of this type: transition, created, alert or ignored_observation")
	f.BoolVar(&noColor, "no-color", false, "never colour the output")
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"host", "chassis", "bmc", "service"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"transition", "created", "alert", "ignored_observation", "rejected_request"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// eventPrinter writes events as human lines:
//
//	2026-11-22T00:41:02.123Z     8  host.0     TransitioningToRunning -> Running  power_good_asserted  (observed power_good_asserted)
type eventPrinter struct {
	w      io.Writer
	colour bool
}

func (p eventPrinter) paint(s string, attrs ...color.Attribute) string {
	c := color.New(attrs...)
	if p.colour {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c.Sprint(s)
}

func (p eventPrinter) print(ev server.Event) {
	var what string
	switch {
	case ev.Type == "transition" && ev.Error:
		what = ev.From + " -> " + p.paint(ev.To, color.FgRed, color.Bold)
	case ev.Type == "transition":
		what = ev.From + " -> " + p.paint(ev.To, color.FgGreen)
	case ev.Type == "created":
		what = "created in " + p.paint(ev.State, color.FgGreen)
	case ev.Type == "alert":
		what = p.paint("ALERT "+ev.Alert, color.FgMagenta, color.Bold) + " " + ev.Message
	default:
		what = ev.Type + " in " + ev.State
	}
	var extra []string
	if ev.Trigger != "" {
		extra = append(extra, ev.Trigger)
	}
	if ev.Cause != "" {
		extra = append(extra, "("+ev.Cause+")")
	}
	if ev.Operation != "" {
		extra = append(extra, "op "+ev.Operation)
	}
	if ev.Requester != "" {
		extra = append(extra, "by "+ev.Requester)
	}
	fmt.Fprintf(p.w, "%s %s  %-12s %s  %s\n", p.paint(ev.Time.UTC().Format(time.RFC3339Nano), color.Faint),
		p.paint(fmt.Sprintf("%6d", ev.Seq), color.FgCyan), ev.ID, what, strings.Join(extra, "  "))
}
