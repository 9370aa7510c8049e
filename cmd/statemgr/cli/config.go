package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
)

func newConfigCommand(g *globals, cred *credentials) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "config",
		Short:   "Show the platform in force, or set it through the API (docs/BACKUP.md, First configuration)",
		Example: `  statemgr config get`,
		Args:    cobra.NoArgs,
	}
	var replace bool
	setCmd := &cobra.Command{
		Use: "set FILE",
		Short: "Set the platform (operator): the first one of a daemon started unconfigured; with --replace another one, " +
			"once every host is Off (the components restart on it). The daemon validates it, persists it in its data directory and runs it at every start",
		Long: `Sends the platform file FILE to the daemon, which validates it as statemgr validate does
(problems are refused bad_platform, each located), persists it in its data directory and starts
its components on it; every later start runs it. Check it first: statemgr validate FILE.
A daemon running a platform refuses another one unless --replace, which needs every host Off:
statemgr config set --replace FILE.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := platform.ReadSource(args[0])
			if err != nil {
				return fmt.Errorf("%w: cannot read platform file: %w", errUsage, err)
			}
			req := server.ConfigSetRequest{Name: args[0], Source: string(src), Replace: replace}
			return query(cmd, g, cred, server.SubjectConfigSet, req, printConfigSet)
		},
	}
	setCmd.Flags().BoolVar(&replace, "replace", false, "replace the platform in force (every host must be Off)")
	cmd.AddCommand(&cobra.Command{
		Use:   "get",
		Short: "Show the platform in force: where it came from (built-in default, file or API), its SHA-256 and its text",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return query(cmd, g, cred, server.SubjectConfigGet, server.ConfigGetRequest{}, printConfig)
		},
	}, setCmd)
	return cmd
}

// origins says where a platform came from, for people.
var origins = map[string]string{
	server.OriginDefault: "the built-in default platform",
	server.OriginFile:    "statemgrd's platform file (platform_file, --platform)",
	server.OriginAPI:     "set through the API (statemgr config set), kept in the data directory",
}

// describePlatform is the header of a platform in force.
func describePlatform(w io.Writer, p server.PlatformConfig) {
	fmt.Fprintf(w, "platform  %s\n  origin  %s\n  BMC     %s\n  SHA-256 %s\n  size    %d bytes\n", p.File, origins[p.Origin], p.BMC, p.SHA256, p.Size)
}

func printConfig(w io.Writer, p server.PlatformConfig) error {
	if !p.Configured {
		_, err := fmt.Fprintln(w, "statemgrd runs unconfigured: no platform, no components; set one with statemgr config set FILE")
		return err
	}
	describePlatform(w, p)
	fmt.Fprintln(w)
	_, err := io.WriteString(w, p.Source)
	if err == nil && !strings.HasSuffix(p.Source, "\n") {
		_, err = fmt.Fprintln(w)
	}
	return err
}

func printConfigSet(w io.Writer, r server.ConfigSetReply) error {
	if r.Replaced != nil {
		fmt.Fprintf(w, "replaced platform %s (%s, SHA-256 %s)\n", r.Replaced.File, r.Replaced.Origin, r.Replaced.SHA256)
	}
	describePlatform(w, r.Platform)
	_, err := fmt.Fprintf(w, "%d components running: %s\n", len(r.Components), strings.Join(r.Components, ", "))
	return err
}
