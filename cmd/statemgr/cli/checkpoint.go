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
		Short: "Create, list, show, delete and restore checkpoints of the daemon's whole state (docs/BACKUP.md)",
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
	}, &cobra.Command{
		Use: "restore ID",
		Short: "Restore a checkpoint in the running daemon (operator): refused while operations are in flight; " +
			"the components restart over it and are reconciled with the hardware, which never powers a host by itself",
		Example: `  statemgr checkpoint restore 20261207T132200.000Z-1234`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return query(cmd, g, cred, server.SubjectCheckpointRestore, server.CheckpointRestoreRequest{ID: args[0]}, printRestore)
		},
	})
	return cmd
}

func printRestore(w io.Writer, r server.CheckpointRestoreReply) error {
	m := r.Checkpoint
	fmt.Fprintf(w, "restored checkpoint %s (sequence %d, taken %s) from %s\n", m.ID, m.Seq, m.Time.Format(time.RFC3339), r.Where)
	fmt.Fprintf(w, "  the new history begins with log_restored at %d; the replaced log was at %d\n", r.LogRestored, r.ReplacedHead)
	if r.SkippedTo != 0 {
		fmt.Fprintf(w, "  sequences %d to %d of the replaced log are skipped_by_restore\n", r.SkippedFrom, r.SkippedTo)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tRESTORED")
	for _, c := range r.Restored {
		fmt.Fprintf(tw, "%s\t%s\n", c.ID, c.State)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Drift) == 0 {
		fmt.Fprintln(w, "no drift: the hardware agrees with the checkpoint")
	} else {
		fmt.Fprintln(w, "drift (recorded from the hardware, with the evidence):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COMPONENT\tDEVICE\tCHECKPOINT\tHARDWARE")
		for _, d := range r.Drift {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Component, d.Device, d.Recorded, d.Observed)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, op := range r.Abandoned {
		fmt.Fprintf(w, "operation %s, unfinished in the checkpoint, was abandoned (not resumed): request it again if still wanted\n", op)
	}
	return nil
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
