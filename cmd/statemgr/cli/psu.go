package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

func newPSUCommand(g *globals, cred *credentials) *cobra.Command {
	return &cobra.Command{
		Use:   "psu [ID]",
		Short: "Read the PSUs now: VIN, VOUT, IOUT, temperature (value, raw word, format) and status",
		Example: `  statemgr psu
  statemgr psu psu0
  statemgr psu psu0 -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			fetch := func(ctx context.Context, request client.RequestFunc) (server.PSUReadingsReply, error) {
				return client.PSUReadingsAll(ctx, request, id)
			}
			return show(cmd, g, cred, fetch, printPSUs)
		},
	}
}

func printPSUs(w io.Writer, r server.PSUReadingsReply) error {
	if len(r.PSUs) == 0 {
		_, err := fmt.Fprintln(w, "the platform file has no psu")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PSU\tCHASSIS\tREADING\tVALUE\tRAW\tFORMAT\tREAD AT\tERROR")
	for _, p := range r.PSUs {
		for _, rd := range p.Readings {
			value, raw := "-", "-"
			if rd.Value != nil {
				value = strconv.FormatFloat(*rd.Value, 'f', 3, 64) + " " + rd.Unit
			}
			if rd.Raw != nil {
				raw = fmt.Sprintf("0x%04X", *rd.Raw)
			}
			format := rd.Format
			if format == "" {
				format = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Chassis, rd.Quantity, value, raw, format, rd.Time.Format("15:04:05.000"), rd.Error)
		}
		st := p.Status
		value, raw := "-", "-"
		if st.Word != nil {
			raw = fmt.Sprintf("0x%04X", *st.Word)
			value = "power good"
			if st.PowerGood != nil && !*st.PowerGood {
				value = "no power good"
			}
			if len(st.Flags) > 0 {
				value += " [" + strings.Join(st.Flags, " ") + "]"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\tstatus\t%s\t%s\t-\t%s\t%s\n", p.ID, p.Chassis, value, raw, st.Time.Format("15:04:05.000"), st.Error)
	}
	return tw.Flush()
}
