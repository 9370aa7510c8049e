package sim_test

import (
	"strings"
	"testing"

	"github.com/statemgr/statemgr/sim"
)

// TestFieldScenarios replays the field bugs of bmc.md part (d): each ends
// as the scenario expects, with every invariant holding throughout. A
// scenario showing an open bug is skipped with the bug named, and fails
// once the bug is fixed, so that its mark is cleared.
func TestFieldScenarios(t *testing.T) {
	for _, s := range sim.Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			var trace strings.Builder
			_, err := s.Run(ctx, &trace)
			switch {
			case err != nil && s.Open != "":
				t.Skipf("open bug: %s: %v", s.Open, err)
			case err != nil:
				t.Fatalf("%v\ntrace:\n%s", err, trace.String())
			case s.Open != "":
				t.Fatalf("scenario passes: the open bug (%s) is fixed; clear Open", s.Open)
			}
		})
	}
}
