package coordinator

import (
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events/memlog"
)

// TestWaitsFromThePlatformFile: the platform file's
// graceful_shutdown_timeout and power_good_timeout bound the coordinator's
// waits unless its Timeouts (the daemon's policy block) set their own;
// before, a board whose file said 20 s waited 300 s before the forced hold
// (the board harness, issue 14).
func TestWaitsFromThePlatformFile(t *testing.T) {
	plat := platform.Default()
	plat.Timeouts.GracefulShutdown, plat.Timeouts.PowerGood = 20*time.Second, 3*time.Second
	effective := func(tmo Timeouts) Timeouts {
		t.Helper()
		c := Config{Log: memlog.New(), Components: struct{ Components }{}, Hardware: struct{ Hardware }{},
			Clock: clock.Real{}, Topology: TopologyOf(plat), Timeouts: tmo}
		if err := c.defaults(); err != nil {
			t.Fatal(err)
		}
		return c.Timeouts
	}
	if got := effective(Timeouts{}); got.Graceful != 20*time.Second || got.HostPowerGood != 3*time.Second {
		t.Errorf("no policy timings: graceful %s, host power good %s; want the platform file's 20s and 3s", got.Graceful, got.HostPowerGood)
	}
	if got := effective(Timeouts{Graceful: 45 * time.Second}); got.Graceful != 45*time.Second {
		t.Errorf("policy graceful_timeout 45s: got %s, want the policy's own", got.Graceful)
	}
}
