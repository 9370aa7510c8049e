//go:build bmc

package cli

import "github.com/spf13/cobra"

// devCommands: the board build (-tags bmc) has no development tools; see
// devcommands.go.
func devCommands(*globals) []*cobra.Command { return nil }
