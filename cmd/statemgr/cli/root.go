package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// errUsage marks a bad flag or argument; the message says what to pass.
var errUsage = errors.New("usage")

// Output formats of -o/--output.
const (
	outputText = "text"
	outputJSON = "json"
)

// globals are the persistent flags every subcommand sees.
type globals struct {
	server  string        // NATS URL of the statemgr server
	timeout time.Duration // how long a request to the server may take
	output  string        // outputText or outputJSON
}

// defaultServer is the server URL: $STATEMGR_URL, else $NATS_URL, else the
// local NATS default.
func defaultServer() string {
	for _, env := range []string{"STATEMGR_URL", "NATS_URL"} {
		if v := os.Getenv(env); v != "" {
			return v
		}
	}
	return "nats://127.0.0.1:4222"
}

func newRootCommand(version string) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "statemgr",
		Short:         "Client and operator tools for the statemgr BMC state server",
		Version:       version,
		Long:          "Client and operator tools for the statemgr BMC state server.\n\n" + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if g.output != outputText && g.output != outputJSON {
				return fmt.Errorf("%w: invalid --output %q: use %q or %q", errUsage, g.output, outputText, outputJSON)
			}
			if g.timeout <= 0 {
				return fmt.Errorf("%w: invalid --timeout %v: pass a positive duration such as 5s", errUsage, g.timeout)
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return fmt.Errorf("%w: %w (see --help)", errUsage, err)
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&g.server, "server", "s", defaultServer(), "NATS URL of the statemgr server (env STATEMGR_URL, then NATS_URL)")
	pf.DurationVar(&g.timeout, "timeout", 5*time.Second, "how long a request to the server may take")
	pf.StringVarP(&g.output, "output", "o", outputText, "output format: text or json")
	root.AddCommand(newValidateCommand(g))
	root.AddCommand(devCommands(g)...)
	root.AddCommand(clientCommands(g)...)
	usageArgs(root)
	return root
}
