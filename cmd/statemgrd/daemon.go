package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/process"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/server/inputs"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
)

// statemgrd is one running daemon and everything it must stop in order.
type statemgrd struct {
	logger hclog.Logger
	cancel context.CancelFunc
	log    *badger.Log
	sys    *protoactor.System
	co     *coordinator.Coordinator
	inputs *inputs.Store // external inputs: the API feeds it, the coordinator reads it
	hw     *devices.Hardware
	leds   *leds.Controller
	plat   *platform.Platform
	sups   map[string]*process.Supervisor
	// cleanups stop what a previous daemon left running; shutdown waits
	// for them (its end cuts their stop timeouts short).
	cleanups []*process.Cleanup
	stopOrd  []string // services in stop order
	ns       *natsserver.Server
	nc       *nats.Conn
	api      *server.Server
	health   *health
	metrics  *metrics
	http     *http.Server
	httpLn   net.Listener
}

// loadPlatform returns the configured platform or the built-in default.
func loadPlatform(path string) (*platform.Platform, error) {
	if path == "" {
		return platform.Default(), nil
	}
	src, err := platform.ReadSource(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read platform file: %w", err)
	}
	p, err := platform.Parse(path, src)
	if err != nil {
		return nil, fmt.Errorf("platform file %s:\n%w", path, err)
	}
	return p, nil
}

// compileComponents turns the platform's components into compiled machines.
func compileComponents(p *platform.Platform) (map[actors.ID]*machine.Compiled, map[actors.ID]map[string]bool, error) {
	comps, err := p.Components()
	if err != nil {
		return nil, nil, err
	}
	compiled := map[actors.ID]*machine.Compiled{}
	errorStates := map[actors.ID]map[string]bool{}
	for _, c := range comps {
		id, err := actors.ParseID(c.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("platform component %q: %w", c.ID, err)
		}
		m, err := machine.Compile(c.Machine)
		if err != nil {
			return nil, nil, fmt.Errorf("component %s: %w", id, err)
		}
		compiled[id] = m
		errorStates[id] = map[string]bool{}
		for _, s := range c.Machine.States {
			if s.Kind == machine.ErrorKind {
				errorStates[id][s.Name] = true
			}
		}
	}
	return compiled, errorStates, nil
}

// start brings the daemon up in dependency order: storage, platform,
// components (recovered), metrics and health. On error it undoes what it
// started.
func start(ctx context.Context, cfg Config, logger hclog.Logger) (d *statemgrd, err error) {
	ctx, cancel := context.WithCancel(ctx)
	d = &statemgrd{logger: logger, cancel: cancel, health: &health{}, metrics: newMetrics()}
	defer func() {
		if err != nil {
			_ = d.shutdown(time.Second)
		}
	}()
	notify(logger, "STATUS=starting")
	// The listeners are bound first (metrics and health, then NATS), so
	// that a port in use or an unreachable server fails the start before
	// the log is opened, the hardware touched or a service spawned.
	if cfg.HTTPListen != "" {
		if d.httpLn, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			return d, fmt.Errorf("cannot listen for metrics and health on %s: %w", cfg.HTTPListen, err)
		}
	}
	if d.ns, d.nc, err = connectNATS(cfg.NATS, logger); err != nil {
		return d, err
	}
	profile, _ := badger.ParseProfile(cfg.StorageProfile)
	if lim := profile.MemoryLimit(); lim > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(lim)
	}
	plat, err := loadPlatform(cfg.PlatformFile)
	if err != nil {
		return d, err
	}
	d.plat = plat
	compiled, errorStates, err := compileComponents(plat)
	if err != nil {
		return d, err
	}
	bootNew, bootID, err := hostBoot.newBoot(cfg.DataDir)
	if err != nil {
		logger.Warn("cannot tell a BMC boot from a daemon restart; assuming a restart", "error", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return d, fmt.Errorf("cannot create data directory: %w", err)
	}
	d.log, err = badger.Open(badger.Options{Dir: filepath.Join(cfg.DataDir, "events"), Profile: profile, Logger: logger.Named("log")})
	if err != nil {
		return d, err
	}
	var appendable events.AppendChecker = d.log
	d.health.log.Store(&appendable)
	obs := newObserver(logger.Named("coordinator"))
	d.hw, err = devices.New(devices.Config{Platform: plat, Clock: clock.Real{}, Logger: logger, OnThermal: obs.thermal})
	if err != nil {
		return d, err
	}
	workers, err := d.superviseServices(ctx, cfg.DataDir, obs, logger)
	if err != nil {
		return d, err
	}
	var onChange func(protoactor.Change)
	d.leds, onChange, err = startLEDs(ctx, plat, d.hw, d.log, logger)
	if err != nil {
		return d, err
	}
	notify(logger, "STATUS=recovering components")
	d.sys, err = protoactor.Start(protoactor.Config{
		OnChange:       onChange,
		Log:            instrumentedLog{d.log, d.metrics},
		Snapshots:      snapbadger.New(d.log.DB()),
		SnapshotPolicy: snapshots.DefaultPolicy,
		Clock:          clock.Real{},
		Logger:         logger.Named("components"),
		Effects:        &effectRouter{hw: d.hw, services: workers},
		OnRequest: func(kind machine.InputKind, took time.Duration, _ error) {
			d.metrics.requestTime.WithLabelValues(string(kind)).Observe(took.Seconds())
		},
	}, compiled)
	if err != nil {
		return d, err
	}
	obs.sys.Store(d.sys)
	d.health.sys.Store(d.sys)
	for _, w := range workers {
		go w.run(ctx)
	}
	views, err := currentViews(ctx, d.sys, logger)
	if err != nil {
		return d, err
	}
	d.metrics.seed(views)
	// Follow from the head the views were read at, before anything new is
	// logged (boot, reconciliation, services), so no transition is missed.
	head, err := d.log.Head(ctx)
	if err != nil {
		return d, err
	}
	d.metrics.head.Set(float64(head))
	go d.metrics.follow(ctx, d.log, head+1, errorStates, logger.Named("metrics"))
	bmc := actors.ID(actors.KindBMC + "." + plat.BMC.Name)
	if bootNew {
		cause := hostBoot.rebootCause()
		in := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedBooted, Value: cause,
			Cause: fmt.Sprintf("BMC boot %s (reboot cause %s)", bootID, cause)}
		if _, err := d.sys.Request(ctx, bmc, in); err != nil {
			return d, fmt.Errorf("cannot record the BMC boot: %w", err)
		}
		if err := recordBoot(cfg.DataDir, bootID); err != nil {
			return d, err
		}
	}
	// The coordinator starts before the devices reconcile: its
	// power-restore decision needs the states last observed before an AC
	// loss, which the reconciliation would overwrite with what the board
	// shows now. The BMC is Ready before it, so that the decision or a
	// resumed operation is not refused as bmc_not_ready.
	if v, err := d.sys.Get(ctx, bmc); err == nil && v.Status.State == machine.StateNotReady {
		in := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedServicesReady, Cause: "statemgrd recovered its components"}
		if _, err := d.sys.Request(ctx, bmc, in); err != nil {
			return d, fmt.Errorf("cannot record the BMC ready: %w", err)
		}
	}
	if err := d.startCoordinator(ctx, cfg, obs, logger); err != nil {
		return d, err
	}
	notify(logger, "STATUS=reconciling with the hardware")
	if views, err = currentViews(ctx, d.sys, nil); err != nil {
		return d, err
	}
	drifts, err := d.hw.Reconcile(ctx, views)
	if err != nil {
		return d, fmt.Errorf("cannot reconcile with the hardware: %w", err)
	}
	for _, dr := range drifts {
		logger.Warn("hardware differs from the log; recorded", "component", dr.Component, "device", dr.Device, "log", dr.Recorded, "hardware", dr.Observed)
	}
	if err := d.hw.Run(ctx, obs); err != nil {
		return d, err
	}
	if err := resumeServices(ctx, d.sys, d.startOrder(), workers, logger); err != nil {
		return d, err
	}
	if d.httpLn != nil {
		d.httpLn = limitConns(d.httpLn, defaultHTTPLimits.maxConns)
		d.http = newHTTPServer(d.health.handler(d.metrics), defaultHTTPLimits)
		d.http.Handler = d.withPage(d.http, d.http.Handler, cfg.NATS, logger.Named("web"))
		go func() {
			if err := d.http.Serve(d.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics and health server stopped", "error", err)
			}
		}()
		logger.Info("serving the page, metrics and health", "address", d.httpLn.Addr().String())
	}
	d.api, err = server.New(server.Config{Conn: d.nc, System: d.sys, Operations: d.co, Log: d.log, Platform: plat, Clock: clock.Real{},
		Logger: logger.Named("api"), Version: version, TrustRequestInfo: d.ns != nil && len(cfg.NATS.Users) > 0, Inputs: d.inputs, LEDs: d.leds})
	if err != nil {
		return d, err
	}
	if err := d.api.Start(); err != nil {
		return d, err
	}
	d.health.ready.Store(true)
	notify(logger, daemon.SdNotifyReady)
	go watchdog(ctx, d.health, logger)
	logger.Info("ready", "data_dir", cfg.DataDir, "profile", profile, "components", len(compiled))
	return d, nil
}

// currentViews reads every component's status, logging each if logger is
// set.
func currentViews(ctx context.Context, sys *protoactor.System, logger hclog.Logger) (map[actors.ID]machine.Status, error) {
	views := map[actors.ID]machine.Status{}
	for _, id := range sys.IDs() {
		v, err := sys.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		views[id] = v.Status
		if logger != nil {
			logger.Info("recovered", "component", id, "state", v.Status.State, "version", v.Version)
		}
	}
	return views, nil
}

// startCoordinator starts the coordinator over the recovered components:
// it resumes or compensates the operations a previous daemon left
// unfinished and applies the power-restore policy if the hardware shows an
// AC power loss. Its reconciliation then runs on a ticker and on chassis
// reports.
func (d *statemgrd) startCoordinator(ctx context.Context, cfg Config, obs *observer, logger hclog.Logger) error {
	policy, timeouts, every, _ := cfg.Policy.coordinator() // checked by Config.check
	d.inputs = inputs.New(d.plat, clock.Real{}, logger.Named("inputs"))
	co, err := coordinator.New(coordinator.Config{Log: instrumentedLog{d.log, d.metrics}, Components: d.sys, Hardware: assembly.Board{Hardware: d.hw},
		Clock: clock.Real{}, Topology: coordinator.TopologyOf(d.plat), Policy: policy, Timeouts: timeouts, Logger: logger, Inputs: d.inputs})
	if err != nil {
		return err
	}
	notify(logger, "STATUS=resuming unfinished operations")
	if err := co.Start(ctx); err != nil {
		return fmt.Errorf("cannot start the coordinator: %w", err)
	}
	d.co = co
	obs.co.Store(co)
	d.inputs.OnCritical(func(zone, evidence string) {
		go func() {
			if _, err := co.Emergency(context.Background(), coordinator.ThermalCritical, zone, evidence); err != nil && !errors.Is(err, coordinator.ErrBusy) {
				logger.Error("cannot start the thermal emergency of an external input", "input", "thermal."+zone, "error", err)
			}
		}()
	})
	go obs.reconcileLoop(ctx, co, every)
	return nil
}

// superviseServices starts stopping what a previous daemon left running
// (it died without stopping its children; process.StartCleanup signals
// each group and finishes in the background, so no supervised process's
// stop timeout holds the start) and makes a supervisor per platform
// service, reporting to its component through a worker that holds the
// cleanup of its old process.
func (d *statemgrd) superviseServices(ctx context.Context, dataDir string, obs *observer, logger hclog.Logger) (map[actors.ID]*serviceWorker, error) {
	pidDir := filepath.Join(dataDir, "services")
	cleanups, err := process.StartCleanup(ctx, pidDir, process.Options{Logger: logger.Named("services")})
	if err != nil {
		return nil, err
	}
	d.cleanups = cleanups
	leftBehind := map[string]*process.Cleanup{}
	for _, c := range cleanups {
		o := c.Found()
		logger.Warn("process left by a previous daemon", "service", o.Service, "pid", o.PID, "members", o.Members, "signal", o.Signal)
		leftBehind[o.Service] = c
	}
	if d.stopOrd, err = process.StopOrder(d.plat.Services); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the daemon's own binary: %w", err)
	}
	workers := map[actors.ID]*serviceWorker{}
	d.sups = map[string]*process.Supervisor{}
	for _, svc := range d.plat.Services {
		if svc.Command == selfCommand {
			svc.Command = self
		}
		id := actors.ID(actors.KindService + "." + svc.Name)
		w := newServiceWorker(id, obs, logger.Named(string(id)))
		w.cleanup = leftBehind[svc.Name]
		sup, err := process.NewSupervisor(process.SupervisorConfig{Service: svc, Observe: w.observe, Logger: logger.Named(string(id)),
			Clock: clock.Real{}, PIDDir: pidDir})
		if err != nil {
			return nil, err
		}
		w.sup, d.sups[svc.Name], workers[id] = sup, sup, w
	}
	return workers, nil
}

// selfCommand, as a service's command, names the daemon's own binary.
const selfCommand = "statemgrd"

// startOrder is the reverse of the stop order.
func (d *statemgrd) startOrder() []string {
	order := make([]string, len(d.stopOrd))
	for i, name := range d.stopOrd {
		order[len(order)-1-i] = name
	}
	return order
}

// shutdown stops the daemon in order: stop taking requests, stop the
// services through their machines, release the hardware, stop the component actors after their
// queued messages, stop what is left of the services, sync and close the
// log.
func (d *statemgrd) shutdown(grace time.Duration) error {
	notify(d.logger, daemon.SdNotifyStopping)
	d.health.ready.Store(false)
	var errs []error
	if d.api != nil {
		// No new requests; in-flight ones finish.
		errs = append(errs, d.api.Stop())
	}
	if d.co != nil {
		// Sagas in flight stop where they are, durable in the log; the next
		// start resumes or compensates them.
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		d.co.Stop(ctx)
		cancel()
	}
	if d.sys != nil && len(d.stopOrd) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		stopServices(ctx, d.sys, d.stopOrd, d.logger)
		cancel()
	}
	if d.hw != nil {
		errs = append(errs, d.hw.Close())
	}
	if d.sys != nil {
		d.sys.Stop()
	}
	if d.leds != nil {
		errs = append(errs, d.leds.Close())
	}
	d.cancel()
	for _, c := range d.cleanups {
		<-c.Done() // bounded: SIGKILL at once, then the kill wait
	}
	if len(d.sups) > 0 {
		// Whatever did not stop through its machine is stopped now:
		// children never outlive the daemon.
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		errs = append(errs, process.CloseAll(ctx, d.stopOrd, d.sups))
		cancel()
	}
	if d.log != nil {
		errs = append(errs, d.log.Close())
	}
	if d.nc != nil {
		errs = append(errs, d.nc.Drain())
	}
	if d.ns != nil {
		d.ns.Shutdown()
		d.ns.WaitForShutdown()
	}
	if d.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		errs = append(errs, d.http.Shutdown(ctx))
		cancel()
	} else if d.httpLn != nil {
		// Bound, but the start failed before serving on it.
		errs = append(errs, d.httpLn.Close())
	}
	return errors.Join(errs...)
}
