package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

func newCheckpointCommand(g *globals, cred *credentials) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Create, list, show and delete checkpoints of the daemon's whole state (docs/BACKUP.md)",
		Example: `  statemgr checkpoint create
  statemgr checkpoint list`,
		Args: cobra.NoArgs,
	}
	var verify bool
	showCmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show a checkpoint's manifest; with --verify read it back whole and check it",
		Example: `  statemgr checkpoint show 20261207T132200.000Z-1234 --verify`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, cred, server.SubjectCheckpointShow, server.CheckpointRequest{ID: args[0], Verify: verify}, printCheckpoint)
		},
	}
	showCmd.Flags().BoolVar(&verify, "verify", false, "read the whole checkpoint back and check its size and SHA-256")
	cmd.AddCommand(&cobra.Command{
		Use:   "create",
		Short: "Make a checkpoint of the state as of now (operator); the daemon goes on answering meanwhile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return query(cmd, g, cred, server.SubjectCheckpointCreate, server.CheckpointCreateRequest{}, printCheckpoint)
		},
	}, &cobra.Command{
		Use:   "list",
		Short: "List the stored checkpoints, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, g, cred, client.CheckpointsAll, printCheckpoints)
		},
	}, showCmd, &cobra.Command{
		Use:     "delete ID",
		Short:   "Delete a checkpoint (operator)",
		Example: `  statemgr checkpoint delete 20261207T132200.000Z-1234`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, cred, server.SubjectCheckpointDelete, server.CheckpointRequest{ID: args[0]}, func(w io.Writer, r server.CheckpointDeleteReply) error {
				_, err := fmt.Fprintf(w, "checkpoint %s deleted\n", r.ID)
				return err
			})
		},
	})
	return cmd
}

func printCheckpoint(w io.Writer, r server.CheckpointReply) error {
	m := r.Checkpoint
	fmt.Fprintf(w, "checkpoint %s in %s\n", m.ID, r.Where)
	fmt.Fprintf(w, "  sequence  %d\n  taken     %s\n  platform  %s (BMC %s, SHA-256 %s)\n  size      %d bytes, %d records\n  SHA-256   %s\n",
		m.Seq, m.Time.Format(time.RFC3339Nano), m.Platform.File, m.Platform.BMC, m.Platform.SHA256, m.Size, m.Records, m.SHA256)
	if m.Version != "" {
		fmt.Fprintf(w, "  statemgr  %s\n", m.Version)
	}
	if r.Verified {
		fmt.Fprintln(w, "  verified: read back whole, it matches its manifest")
	}
	for _, id := range r.Deleted {
		fmt.Fprintf(w, "retention deleted %s\n", id)
	}
	if r.PruneError != "" {
		fmt.Fprintf(w, "retention could not delete older checkpoints: %s\n", r.PruneError)
	}
	return nil
}

func printCheckpoints(w io.Writer, l server.CheckpointList) error {
	if len(l.Checkpoints) == 0 {
		_, err := fmt.Fprintf(w, "no checkpoints in %s\n", l.Where)
		return err
	}
	fmt.Fprintf(w, "checkpoints in %s, newest first:\n", l.Where)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEQ\tTAKEN\tSIZE\tPLATFORM\tPROBLEM")
	for _, m := range l.Checkpoints {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\n", m.ID, m.Seq, taken(m), m.Size, m.Platform.File, m.Problem)
	}
	return tw.Flush()
}

// taken is when a checkpoint was taken, or "-" for a damaged entry.
func taken(m checkpoint.Manifest) string {
	if m.Time.IsZero() {
		return "-"
	}
	return m.Time.Format(time.RFC3339)
}
