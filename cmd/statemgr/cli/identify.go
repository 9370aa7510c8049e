package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/server"
)

func newIdentifyCommand(g *globals, cred *credentials) *cobra.Command {
	var forDuration time.Duration
	cmd := &cobra.Command{
		Use:   "identify ID on|off | identify ID --for DURATION",
		Short: "Blink a host's, chassis's or the BMC's identify LED (Redfish LocationIndicatorActive)",
		Long: `Turns a location's identify LED on (blinking) or off. With --for it turns
it on for that long, then off by itself, across a statemgrd restart too.`,
		Example: `  statemgr identify host.0 on
  statemgr identify host.0 --for 5m
  statemgr identify host.0 off`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := componentArg(args[0], actors.KindHost, actors.KindChassis, actors.KindBMC)
			if err != nil {
				return err
			}
			req := server.IdentifyRequest{ID: string(id)}
			switch {
			case len(args) == 1 && forDuration > 0:
				on := true
				req.Active, req.For = &on, forDuration.String()
			case len(args) == 2 && (args[1] == "on" || args[1] == "off") && (forDuration == 0 || args[1] == "on"):
				on := args[1] == "on"
				req.Active = &on
				if forDuration > 0 {
					req.For = forDuration.String()
				}
			default:
				return fmt.Errorf("%w: say on, off or --for DURATION (e.g. statemgr identify %s --for 5m)", errUsage, id)
			}
			s, err := connect(g, cred)
			if err != nil {
				return err
			}
			defer s.close()
			var reply leds.LocationView
			if err := s.request(cmd.Context(), server.SubjectLEDIdentify, req, &reply); err != nil {
				return err
			}
			if g.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), reply)
			}
			printLocation(cmd.OutOrStdout(), reply)
			return nil
		},
	}
	cmd.Flags().DurationVar(&forDuration, "for", 0, "identify for this long, then stop (e.g. 5m, at most 24h)")
	return cmd
}

func newLampTestCommand(g *globals, cred *credentials) *cobra.Command {
	var forDuration time.Duration
	cmd := &cobra.Command{
		Use:   "lamp-test",
		Short: "Light every LED for a while (default 10s), then give each back its pattern",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := connect(g, cred)
			if err != nil {
				return err
			}
			defer s.close()
			req := server.LampTestRequest{}
			if forDuration > 0 {
				req.For = forDuration.String()
			}
			var reply server.LampTestReply
			if err := s.request(cmd.Context(), server.SubjectLEDLampTest, req, &reply); err != nil {
				return err
			}
			if g.output == outputJSON {
				return printJSON(cmd.OutOrStdout(), reply)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lamp test: every LED lit until %s\n", reply.Until.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().DurationVar(&forDuration, "for", 0, "how long (at most 5m)")
	return cmd
}

// printLocation prints one location's LEDs on a line:
// "host.0  power=on fault=off identify=blinking (until 12:05:00)".
func printLocation(w io.Writer, v leds.LocationView) {
	parts := make([]string, 0, len(v.LEDs))
	for _, l := range v.LEDs {
		p := fmt.Sprintf("%s=%s", l.Kind, l.Shows)
		if l.Error != "" {
			p += " (failing: " + l.Error + ")"
		}
		parts = append(parts, p)
	}
	line := fmt.Sprintf("%-12s %s", v.ID, strings.Join(parts, " "))
	if v.IdentifyUntil != nil {
		line += " (identify until " + v.IdentifyUntil.Format(time.RFC3339) + ")"
	}
	fmt.Fprintln(w, line)
}
