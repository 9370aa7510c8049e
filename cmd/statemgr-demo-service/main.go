// Command statemgr-demo-service is a tiny real service for statemgr to
// supervise (see package demo for its flags). The default platform runs the
// same code as "statemgrd demo-service".
package main

import (
	"os"

	"github.com/statemgr/statemgr/adapters/process/demo"
)

func main() { os.Exit(demo.Main(os.Args[1:], os.Stdout, os.Stderr)) }
