//go:build !bmc

package cli

import "github.com/spf13/cobra"

// devCommands are the development tools a board never runs: the simulator
// campaign and the log benchmark. They link the whole daemon (actors, the
// event log, an embedded NATS server), so the board build leaves them out
// with -tags bmc; the default build, and so `go run ./cmd/statemgr sim`,
// keeps them.
func devCommands(g *globals) []*cobra.Command {
	return []*cobra.Command{newBenchCommand(g), newSimCommand(g)}
}
