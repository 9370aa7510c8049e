package main

import (
	"context"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"
)

// notify tells systemd (Type=notify) about the daemon's state; outside
// systemd it does nothing.
func notify(logger hclog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		logger.Warn("cannot notify systemd", "state", state, "error", err)
	}
}

// watchdog pings systemd's watchdog at half its interval while the health
// check passes, so a deadlocked mailbox gets the daemon restarted.
func watchdog(ctx context.Context, h *health, logger hclog.Logger) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := h.check(ctx); err != nil {
				logger.Error("health check failed; not pinging the systemd watchdog", "error", err)
				continue
			}
			notify(logger, daemon.SdNotifyWatchdog)
		}
	}
}
