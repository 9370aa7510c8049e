// Command statemgrd is the statemgr daemon: it recovers every component
// from the event log, reconciles it with the hardware (the simulated
// platform when none is configured) and serves the NATS API, metrics and
// health. With no arguments it runs on embedded defaults. The same binary
// is the CLI and the demo service (multicall.go): a board ships it once,
// with statemgr and statemgr-demo-service as symlinks to it.
//
// The system itself (devices, components, coordinator, services) is built,
// started and stopped by server/assembly, in the one order the simulation
// and the test rigs use; this package adds what only a process has: the
// listeners, the embedded NATS server, the Badger log, the services'
// supervisors, systemd notifications, metrics and health. On a platform
// whose BMC reset is restart-daemon, statemgr.bmc.reset writes the
// bmc_reset marker to the data directory and run stops the daemon in order
// and starts it again over the same data; the marker makes that start, or
// the next one after a crash meanwhile, a BMC boot with reboot cause
// Software, as the BMC's own reboot would be.
//
// statemgr.checkpoint.restore (restore.go) stops and starts only the
// daemon's core (the log, the services' supervisors, the assembly and the
// API; startCore, stopCore) within the process: NATS, the page, the
// checkpoint store and the simulated board stay up, so the reply reaches
// the requester once the API answers over the restored log.
//
// The platform comes from the data directory's platform.hcl once
// statemgr.config.set has written it there (platformconfig.go), else from
// the configuration: none with --unconfigured (then the core is the
// unconfigured API alone, and no component runs), the platform file, or
// the built-in default. A config set persists the platform before it
// stops the core and starts it on the new platform, as a restore does.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/statemgr/statemgr/events/badger"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

var (
	errNotStarted = errors.New("components not started")
	errNotReady   = errors.New("not ready: recovering, reconciling or shutting down")
	// errUnconfigured is /readyz's while no platform is in force.
	errUnconfigured = errors.New("not ready: unconfigured, no platform and no components; an operator sets one with statemgr config set FILE")
)

func main() { os.Exit(multicall(os.Args, os.Stdout, os.Stderr)) }

// run is the daemon's main without os.Exit, so tests can drive the daemon
// in process.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args)
	if err != nil {
		fmt.Fprintln(stderr, "statemgrd:", err)
		return 2
	}
	if o.help != "" {
		fmt.Fprint(stdout, o.help)
		return 0
	}
	if o.version {
		fmt.Fprintln(stdout, "statemgrd", version)
		return 0
	}
	cfg, err := load(o)
	if err != nil {
		fmt.Fprintln(stderr, "statemgrd:", err)
		return 2
	}
	logger := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	if o.salvage {
		return salvage(cfg, stdout, stderr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)

	d, err := start(ctx, cfg, logger)
	if err != nil {
		logger.Error("cannot start", "error", err)
		return 1
	}
	grace, _ := time.ParseDuration(cfg.ShutdownGrace)
	for {
		select {
		case sig := <-signals:
			logger.Info("shutting down; a second signal exits at once", "signal", sig.String())
			go func() {
				<-signals
				logger.Warn("second signal: exiting without an orderly shutdown")
				os.Exit(1)
			}()
			notify(logger, daemon.SdNotifyStopping)
			if err := d.shutdown(grace); err != nil {
				logger.Error("shutdown finished with errors", "error", err)
				return 1
			}
			logger.Info("stopped")
			return 0
		case err := <-d.fatal:
			logger.Error("exiting: a restore left statemgrd without its components", "error", err)
			notify(logger, daemon.SdNotifyStopping)
			if err := d.shutdown(grace); err != nil {
				logger.Error("shutdown finished with errors", "error", err)
			}
			return 1
		case force := <-d.resets:
			logger.Warn("BMC reset (restart-daemon): stopping and starting again as the BMC's reboot would", "force", force)
			notify(logger, daemon.SdNotifyReloading+"\nSTATUS=BMC reset: restarting")
			if err := d.shutdown(grace); err != nil {
				logger.Error("shutdown for the BMC reset finished with errors", "error", err)
			}
			if d, err = start(ctx, cfg, logger); err != nil {
				logger.Error("cannot start again after the BMC reset", "error", err)
				return 1
			}
		}
	}
}

// salvage runs statemgrd --salvage: it rebuilds the data directory's event
// log if, and only if, a start would refuse it as damaged.
func salvage(cfg Config, stdout, stderr io.Writer) int {
	profile, _ := badger.ParseProfile(cfg.StorageProfile)
	report, err := badger.SalvageIfDamaged(badger.Options{Dir: filepath.Join(cfg.DataDir, "events"), Profile: profile}, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "statemgrd:", err)
		return 1
	}
	fmt.Fprintln(stdout, "statemgrd:", report)
	return 0
}
