package sim_test

import (
	"strings"
	"testing"

	"github.com/statemgr/statemgr/sim"
)

// TestFieldScenarios replays the field bugs of bmc.md part (d): each ends
// as the scenario expects, with every invariant holding throughout.
func TestFieldScenarios(t *testing.T) {
	for _, s := range sim.Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			var trace strings.Builder
			_, err := s.Run(ctx, &trace)
			if err != nil {
				t.Fatalf("%v\ntrace:\n%s", err, trace.String())
			}
		})
	}
}
