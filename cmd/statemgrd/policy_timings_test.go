package main

import (
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters/platform"
)

// TestGracefulTimeoutFromPlatformFile: the platform file's
// graceful_shutdown_timeout and power_good_timeout bound the coordinator's
// waits unless the policy block sets its own; before, a board whose file
// said 20 s waited 300 s before the forced hold (the board harness, issue 14).
func TestGracefulTimeoutFromPlatformFile(t *testing.T) {
	plat := platform.Timeouts{GracefulShutdown: 20 * time.Second, PowerGood: 3 * time.Second}

	_, tmo, _, problems := (&PolicyConfig{}).coordinator()
	if len(problems) != 0 {
		t.Fatal(problems)
	}
	got := withPlatformTimings(tmo, plat)
	if got.Graceful != 20*time.Second || got.HostPowerGood != 3*time.Second {
		t.Errorf("no policy timings: graceful %s, host power good %s; want the platform file's 20s and 3s", got.Graceful, got.HostPowerGood)
	}

	_, tmo, _, _ = (&PolicyConfig{GracefulTimeout: "45s"}).coordinator()
	if got := withPlatformTimings(tmo, plat); got.Graceful != 45*time.Second {
		t.Errorf("policy graceful_timeout 45s: got %s, want the policy's own", got.Graceful)
	}
}
