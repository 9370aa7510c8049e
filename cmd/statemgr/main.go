// Command statemgr is the command-line client of the statemgr state server
// and its operator tools; package cli holds it. On a board the same code
// runs as the daemon's multi-call binary called statemgr (a symlink to
// statemgrd).
package main

import (
	"os"

	"github.com/statemgr/statemgr/cmd/statemgr/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() { os.Exit(cli.Main(version, os.Args[1:], os.Stdout, os.Stderr)) }
