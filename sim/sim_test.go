package sim_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/statemgr/statemgr/sim"
)

var ctx = context.Background()

// TestSameSeedSameTrace runs one seed twice: the traces are identical, byte
// for byte.
func TestSameSeedSameTrace(t *testing.T) {
	actions := sim.NewGenerator(nil).Actions(40).Example(7)
	var a, b bytes.Buffer
	sa, erra := sim.Run(ctx, sim.Options{}, actions, &a)
	_, errb := sim.Run(ctx, sim.Options{}, actions, &b)
	if erra != nil || errb != nil {
		t.Fatalf("runs failed: %v / %v\n%s", erra, errb, a.String())
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("same seed, different traces:\n--- first\n%s\n--- second\n%s", a.String(), b.String())
	}
	t.Logf("%d actions in %s (%.0f/s)\n%s", sa.Actions, sa.Elapsed, sa.ActionsPerSecond(), a.String())
}
