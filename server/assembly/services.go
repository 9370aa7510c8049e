package assembly

import (
	"context"
	"fmt"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/process"
)

// ServiceResumer is a Config.Services that knows what is left of each
// service's process when a daemon starts (the daemon: what its startup
// cleanup found of the previous daemon's children; the simulation: its
// simulated processes). Resume brings the services back to what the log
// says (actors.ResumeService) once the devices run; it is Start's last
// stage.
type ServiceResumer interface {
	Resume(ctx context.Context, sys *protoactor.System) error
}

// serviceStopPoll is how often stopServices reads a stopping service's
// state; the machines have no subscription for it.
const serviceStopPoll = 20 * time.Millisecond

// stopServices asks each running service's machine to stop, in stop order,
// and waits (up to grace in all) for it to reach Stopped or Error, so the
// log records the shutdown as an intentional stop. A service that cannot
// be asked is logged and skipped: whatever did not stop through its
// machine is the services' runner's to stop.
func (a *Assembly) stopServices(ctx context.Context, grace time.Duration) error {
	order, err := process.StopOrder(a.cfg.Platform.Services)
	if err != nil {
		return fmt.Errorf("cannot stop the services: %w", err)
	}
	ctx, cancel := clock.WithTimeout(context.WithoutCancel(ctx), a.cfg.Clock, grace)
	defer cancel()
	done := func(id actors.ID) bool {
		v, err := a.System.Get(ctx, id)
		return err != nil || v.Status.State == machine.StateStopped || v.Status.State == machine.StateError
	}
	for _, name := range order {
		id := actors.ID(actors.KindService + "." + name)
		if done(id) {
			continue
		}
		in := machine.Input{Kind: machine.KindRequest, Trigger: machine.RequestStop, Requester: actors.DaemonRequester, Cause: "daemon shutting down"}
		if _, err := a.System.Request(ctx, id, in); err != nil {
			a.cfg.Logger.Warn("cannot stop service through its machine", "service", name, "error", err)
			continue
		}
		for !done(id) && clock.Sleep(a.cfg.Clock, serviceStopPoll, ctx.Done()) {
		}
	}
	return nil
}
