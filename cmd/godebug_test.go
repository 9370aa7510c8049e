package cmd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The runtime's GOMAXPROCS updater (Go 1.25+) re-reads the CPU affinity
// and cgroup limits every second, waking an idle daemon; go.mod turns it
// off for every program of the module (issue 16 item 3).
func TestProgramsDoNotPollTheirCPULimit(t *testing.T) {
	for _, pkg := range []string{"./statemgrd", "./statemgr", "./statemgr-demo-service"} {
		out, err := exec.Command("go", "list", "-f", "{{.DefaultGODEBUG}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		if !strings.Contains(","+strings.TrimSpace(string(out))+",", ",updatemaxprocs=0,") {
			t.Errorf("%s is built with GODEBUG defaults %q: the runtime polls the CPU limit every second", pkg, strings.TrimSpace(string(out)))
		}
	}
}
