package sim_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/statemgr/statemgr/sim"
)

func TestProf(t *testing.T) {
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	actions := sim.NewGenerator(nil).Actions(100).Example(seed)
	s, err := sim.Run(ctx, sim.Options{}, actions, os.Stdout)
	t.Logf("seed %d: %d actions %s virtual %s err %v", seed, s.Actions, s.Elapsed, s.Virtual, err)
}
