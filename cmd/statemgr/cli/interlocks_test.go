package cli

import (
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/server"
)

// statemgr interlocks prints a row per blocker, in the reply's
// (admission's) order, and "-" for a request nothing blocks.
func TestPrintInterlocks(t *testing.T) {
	r := server.InterlocksReply{Requests: []server.RequestBlockers{
		{ID: "host.0", Request: "On", Kind: coordinator.HostPowerOn, Blockers: []coordinator.Blocker{
			{Check: "maintenance", Reason: "bmc.0 is in Maintenance", Clears: "the BMC exits maintenance", Overridable: true},
			{Check: "power_dependency", Reason: "chassis.0 is Off, not On", Clears: "chassis.0 is powered on"},
		}},
		{ID: "host.0", Request: "ForceOff", Kind: coordinator.HostForceOff, Blockers: []coordinator.Blocker{}},
	}}
	var out strings.Builder
	if err := printInterlocks(&out, r); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
		got = append(got, strings.Join(strings.Fields(l), " "))
	}
	want := []string{
		"host.0 On maintenance yes bmc.0 is in Maintenance the BMC exits maintenance",
		"host.0 On power_dependency no chassis.0 is Off, not On chassis.0 is powered on",
		"host.0 ForceOff -",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("statemgr interlocks printed:\n%s\nwant rows:\n%s", out.String(), strings.Join(want, "\n"))
	}
}
