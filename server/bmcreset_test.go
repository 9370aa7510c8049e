package server_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// Ensure a BMC reset on a platform that gives statemgrd no way to reset
// the BMC is refused up front, with the catalogued not_supported_by_platform
// in every form of the request, that nothing is recorded (the BMC is not
// left in Rebooting to time out), and that no view lists it as allowed.
func TestBMCResetRefusedWhereThePlatformCannot(t *testing.T) {
	plat := platform.Default()
	plat.BMC.Reset = platform.BMCResetNone
	env := servertest.Start(t, servertest.Options{Platform: plat})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	before, err := env.Log.StreamHead(context.Background(), "bmc.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"", machine.RequestGracefulRestart, machine.RequestForceRestart} {
		err := cl.Request(ctx, server.SubjectBMCReset, server.ControlRequest{ID: "bmc.0", Type: typ}, nil)
		var apiErr *server.Error
		if !errors.As(err, &apiErr) || !errors.Is(err, server.ErrNotSupportedByPlatform) || apiErr.Hint == "" {
			t.Fatalf("bmc.reset type %q: %v, want not_supported_by_platform", typ, err)
		}
	}
	if after, _ := env.Log.StreamHead(context.Background(), "bmc.0"); after != before {
		t.Fatalf("bmc.0 stream head %d after refused resets, want %d", after, before)
	}
	bmc, err := cl.Get(ctx, "bmc.0")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(bmc.Allowed, machine.RequestGracefulRestart) || slices.Contains(bmc.Allowed, machine.RequestForceRestart) {
		t.Fatalf("bmc.0 allows %v on a platform that cannot reset it", bmc.Allowed)
	}
}

// Ensure a ForceRestart of the BMC on a platform whose reset is
// restart-daemon (the default, simulated) is carried out: the rig stops and
// starts again over its log, the BMC records its boot with reboot cause
// Software and comes back Ready. Before the rigs used the daemon's
// assembly the reset was accepted and then failed "no BMC reset is
// configured", leaving the BMC in Rebooting.
func TestBMCForceRestartRestartsTheDaemon(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	cl := client.New(env.Connect(t))
	ctx := ctxT(t)
	if err := cl.Request(ctx, server.SubjectBMCReset, server.ControlRequest{ID: "bmc.0", Type: machine.RequestForceRestart}, nil); err != nil {
		t.Fatalf("bmc.reset ForceRestart: %v", err)
	}
	for {
		// Requests fail while the API restarts; the loop ends with ctx.
		bmc, err := cl.Get(ctx, "bmc.0")
		if err == nil && bmc.State == machine.StateReady && bmc.LastRebootCause == machine.RebootCauseSoftware {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("bmc.0 after ForceRestart: %+v, %v; want Ready with last reboot cause Software", bmc, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
