package cli

import (
	"strings"
	"testing"

	"github.com/statemgr/statemgr/server"
)

// A silent PSU's standing alert is no operation's: its row says so with
// "-" rather than an empty first column that shifts the table.
func TestPrintAlertsOfASilentPSU(t *testing.T) {
	var out strings.Builder
	l := server.AlertList{Alerts: []server.StandingAlert{{Kind: "psu_unreachable", ID: "psu1", Chassis: "chassis.0", Alert: "psu1 does not answer on its bus: NAK"}}}
	if err := printAlerts(&out, l); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != "- psu_unreachable psu1 psu1 does not answer on its bus: NAK" {
		t.Fatalf("statemgr alerts printed:\n%s", out.String())
	}
}
