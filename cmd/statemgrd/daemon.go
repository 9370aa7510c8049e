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
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/process"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/server/inputs"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

// statemgrd is one running daemon and everything it must stop in order:
// the process's part (listeners, NATS, the page, the checkpoint store,
// the external inputs) and its core (the log, the services' supervisors,
// the assembly, the API), which a restore stops and starts again.
type statemgrd struct {
	logger hclog.Logger
	ctx    context.Context // the daemon's: the core started again after a restore runs on it
	cancel context.CancelFunc
	cfg    Config
	// inForce is the platform in force, nil while unconfigured; plat is
	// its parsed platform. A platform change (SetPlatform) replaces both
	// with the core stopped.
	inForce atomic.Pointer[platformInForce]
	plat    *platform.Platform
	// dataDir holds the log, the boot id and the pending BMC reset.
	dataDir string
	// resets hears the BMC reset (restart-daemon) once it is pending;
	// run restarts the daemon.
	resets chan bool
	// fatal hears a restore that left the daemon without its core: run
	// exits, and systemd starts it again on the log in place.
	fatal chan error
	// cycle serialises what stops the core: a restore, a platform change
	// (SetPlatform) and the shutdown.
	cycle  sync.Mutex
	inputs *inputs.Store // external inputs: the API feeds it, the coordinator reads it
	// inputMetrics is the inputs' collector, registered per platform.
	inputMetrics prometheus.Collector
	// psuMetrics is the core's PSU collector, unregistered when the core stops.
	psuMetrics *psuCollector
	// sim is the simulated board of a platform with sim back-ends: the
	// process's, so that it keeps its state across a restore as a real
	// board would.
	sim         *simhw.Platform
	checkpoints *lazyCheckpoints
	ns          *natsserver.Server
	nc          *nats.Conn
	health      *health
	metrics     *metrics
	http        *http.Server
	httpLn      net.Listener

	// The core.
	coreCancel context.CancelFunc
	log        *badger.Log
	// asm is the system: devices, components and coordinator.
	asm  *assembly.Assembly
	sups map[string]*process.Supervisor
	// cleanups stop what a previous daemon left running; stopCore waits
	// for them (its end cuts their stop timeouts short).
	cleanups []*process.Cleanup
	stopOrd  []string // services in stop order
	api      *server.Server
}

// errorStatesOf returns each component's error states (the metrics count
// entries into them).
func errorStatesOf(p *platform.Platform) (map[actors.ID]map[string]bool, error) {
	comps, err := p.Components()
	if err != nil {
		return nil, err
	}
	errorStates := map[actors.ID]map[string]bool{}
	for _, c := range comps {
		id := actors.ID(c.ID)
		errorStates[id] = map[string]bool{}
		for _, s := range c.Machine.States {
			if s.Kind == machine.ErrorKind {
				errorStates[id][s.Name] = true
			}
		}
	}
	return errorStates, nil
}

// start brings the daemon up: the listeners, the platform, then its core
// (startCore), then the page, metrics and health. On error it undoes
// what it started.
func start(ctx context.Context, cfg Config, logger hclog.Logger) (d *statemgrd, err error) {
	ctx, cancel := context.WithCancel(ctx)
	d = &statemgrd{logger: logger, ctx: ctx, cancel: cancel, cfg: cfg, health: &health{}, metrics: newMetrics(), dataDir: cfg.DataDir,
		resets: make(chan bool, 1), fatal: make(chan error, 1)}
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
	cfg.NATS.jetStreamDir = cfg.Checkpoints.jetStreamDir(cfg)
	if d.ns, d.nc, err = connectNATS(cfg.NATS, logger); err != nil {
		return d, err
	}
	profile, _ := badger.ParseProfile(cfg.StorageProfile)
	if lim := profile.MemoryLimit(); lim > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(lim)
	}
	if pct := profile.GCPercent(); pct > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(pct)
	}
	plat, ignored, err := resolvePlatform(cfg)
	if err != nil {
		return d, err
	}
	if ignored != "" {
		logger.Warn("the platform set through the API (statemgr config set) is in force: platform_file is ignored", "platform_file", ignored)
	}
	// The checkpoints copy whichever log the core has open, under the
	// platform in force (usePlatform).
	if d.checkpoints, err = newCheckpoints(ctx, cfg, coreLog{d}, d.nc, logger.Named("checkpoints")); err != nil {
		return d, err
	}
	if err := d.startOn(plat); err != nil {
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
	notify(logger, daemon.SdNotifyReady)
	go watchdog(ctx, d.health, logger)
	// What the start touched and no longer holds (the platform's parse and
	// compilation, the log's open and replay) goes back to the OS now,
	// once: an idle daemon's RSS is then what it holds (issue 16).
	debug.FreeOSMemory()
	if d.asm == nil {
		logger.Warn("ready, unconfigured: no platform and no components until an operator sets one (statemgr config set FILE)", "data_dir", cfg.DataDir)
	} else {
		logger.Info("ready", "data_dir", cfg.DataDir, "profile", profile, "components", len(d.asm.System.IDs()),
			"platform", plat.source.File, "origin", plat.origin)
	}
	return d, nil
}

// usePlatform makes p the platform in force (nil: none) and builds what
// the process keeps per platform: the external inputs' store and its
// metrics, the simulated board, the checkpoints' platform. The core is
// stopped.
func (d *statemgrd) usePlatform(p *platformInForce) error {
	if d.sim != nil {
		if err := d.sim.Close(); err != nil {
			d.logger.Warn("cannot close the simulated board of the previous platform", "error", err)
		}
		d.sim = nil
	}
	if d.inputMetrics != nil {
		d.metrics.registry.Unregister(d.inputMetrics)
		d.inputMetrics = nil
	}
	d.inForce.Store(p)
	d.health.unconfigured.Store(p == nil)
	d.plat, d.inputs = nil, nil
	if p == nil {
		return nil
	}
	d.plat = p.plat
	d.inputs = inputs.New(d.plat, clock.Real{}, d.logger.Named("inputs"))
	d.inputMetrics = inputCollector{d.inputs}
	d.metrics.registry.MustRegister(d.inputMetrics)
	if d.checkpoints != nil {
		d.checkpoints.usePlatform(p.source)
	}
	if devices.UsesSim(d.plat) {
		var err error
		if d.sim, err = simhw.New(clock.Real{}, devices.SimConfig(d.plat, 0)); err != nil {
			return fmt.Errorf("cannot build the simulated board: %w", err)
		}
	}
	return nil
}

// startCore opens the log, makes the services' supervisors, starts the
// system in the assembly's one order (server/assembly.Start) and then the
// NATS API over it; with no platform in force, the unconfigured API
// alone. On error the caller stops what it started (stopCore).
func (d *statemgrd) startCore(ctx context.Context) (err error) {
	cfg, logger, plat := d.cfg, d.logger, d.plat
	if plat == nil {
		return d.startAPI(server.Config{Unconfigured: true})
	}
	ctx, d.coreCancel = context.WithCancel(ctx)
	// Compiled here, so that a bad machine fails the start before the log
	// is opened.
	compiled, err := plat.Compiled()
	if err != nil {
		return err
	}
	errorStates, err := errorStatesOf(plat)
	if err != nil {
		return err
	}
	boot, err := hostBoot.detect(cfg.DataDir)
	if err != nil {
		logger.Warn("cannot tell a BMC boot from a daemon restart; assuming a restart", "error", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("cannot create data directory: %w", err)
	}
	profile, _ := badger.ParseProfile(cfg.StorageProfile)
	d.log, err = badger.Open(badger.Options{Dir: eventsDir(cfg), Profile: profile, Logger: logger.Named("log")})
	if err != nil {
		return err
	}
	var appendable events.AppendChecker = d.log
	d.health.log.Store(&appendable)
	obs := newObserver(logger.Named("coordinator"))
	workers, err := d.superviseServices(ctx, cfg.DataDir, obs, logger)
	if err != nil {
		return err
	}
	policy, timeouts, every, _ := cfg.Policy.coordinator() // checked by Config.check
	var bmcBoot machine.Input
	if boot.isNew {
		bmcBoot = boot.input()
	}
	// Stages are logged, so the boot order can be read back from the log.
	d.asm, err = assembly.Start(ctx, assembly.Config{Platform: plat, Compiled: compiled, Log: instrumentedLog{d.log, d.metrics},
		Snapshots: snapbadger.New(d.log.DB()), SnapshotPolicy: snapshots.DefaultPolicy, Clock: clock.Real{}, Logger: logger,
		Devices: devices.Config{OnThermal: obs.thermal, RebootBMC: d.resetBMC, Sim: d.sim}, Services: workers,
		Policy: policy, Timeouts: timeouts, Inputs: d.inputs, BMCBoot: bmcBoot,
		OnBMCBoot: func() error { return boot.record(cfg.DataDir) },
		OnRecovered: func(ctx context.Context, a *assembly.Assembly) error {
			obs.sys.Store(a.System)
			d.health.sys.Store(a.System)
			workers.run(ctx)
			return d.followMetrics(ctx, a.System, errorStates, logger)
		},
		Observer: func(_ *protoactor.System, co *coordinator.Coordinator) devices.Observer {
			obs.co.Store(co)
			return obs
		},
		OnChange: d.metrics.observeChange,
		OnRequest: func(kind machine.InputKind, took time.Duration, _ error) {
			d.metrics.requestTime.WithLabelValues(string(kind)).Observe(took.Seconds())
		},
		OnStage: func(s assembly.Stage) {
			logger.Info("stage", "stage", string(s))
			notify(logger, "STATUS="+string(s))
		},
	})
	if err != nil {
		return err
	}
	go obs.reconcileLoop(ctx, d.asm.Coordinator, every)
	// Registered per core: a restore starts a new assembly and its devices.
	d.psuMetrics = &psuCollector{psus: d.asm.Hardware, clk: clock.Real{}}
	d.metrics.registry.MustRegister(d.psuMetrics)
	apiCfg := server.Config{System: d.asm.System, Operations: d.asm.Coordinator, Log: d.log, Platform: plat, Inputs: d.inputs,
		PSUs: assembly.PSUs{Hardware: d.asm.Hardware}, LEDs: d.asm.LEDs}
	if d.checkpoints != nil {
		apiCfg.Checkpoints, apiCfg.Restorer = d.checkpoints, d
	}
	if err := d.startAPI(apiCfg); err != nil {
		return err
	}
	d.health.ready.Store(true)
	return nil
}

// startAPI starts the NATS API of cfg, with what every one of the
// daemon's has: its connection, log, version and the config subjects.
func (d *statemgrd) startAPI(cfg server.Config) (err error) {
	cfg.Conn, cfg.Clock, cfg.Logger, cfg.Version, cfg.Configurer = d.nc, clock.Real{}, d.logger.Named("api"), version, d
	cfg.TrustRequestInfo = d.ns != nil && len(d.cfg.NATS.Users) > 0
	if d.api, err = server.New(cfg); err != nil {
		return err
	}
	return d.api.Start()
}

// eventsDir is where the event log is, in the data directory.
func eventsDir(cfg Config) string { return filepath.Join(cfg.DataDir, "events") }

// coreLog is the checkpoints' source: the log the core has open.
type coreLog struct{ d *statemgrd }

func (c coreLog) Export(ctx context.Context, fn func(key, value []byte) error) (uint64, error) {
	l := c.d.log
	if l == nil {
		return 0, fmt.Errorf("%w: the event log is closed (a restore is in progress)", checkpoint.ErrUnavailable)
	}
	return l.Export(ctx, fn)
}

// followMetrics seeds the metrics with the recovered components (logging
// each) and follows the log from the head they were read at, before
// anything new is logged (boot, reconciliation, services), so that no
// transition is missed.
func (d *statemgrd) followMetrics(ctx context.Context, sys *protoactor.System, errorStates map[actors.ID]map[string]bool, logger hclog.Logger) error {
	views := map[actors.ID]machine.Status{}
	for _, id := range sys.IDs() {
		v, err := sys.Get(ctx, id)
		if err != nil {
			return err
		}
		views[id] = v.Status
		logger.Info("recovered", "component", id, "state", v.Status.State, "version", v.Version)
	}
	d.metrics.seed(views)
	head, err := d.log.Head(ctx)
	if err != nil {
		return err
	}
	d.metrics.head.Set(float64(head))
	go d.metrics.follow(ctx, d.log, head+1, views, errorStates, logger.Named("metrics"))
	return nil
}

// superviseServices starts stopping what a previous daemon left running
// (it died without stopping its children; process.StartCleanup signals
// each group and finishes in the background, so no supervised process's
// stop timeout holds the start) and makes a supervisor per platform
// service, reporting to its component through a worker that holds the
// cleanup of its old process.
func (d *statemgrd) superviseServices(ctx context.Context, dataDir string, obs *observer, logger hclog.Logger) (*serviceWorkers, error) {
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
	startOrd, err := process.StartOrder(d.plat.Services)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the daemon's own binary: %w", err)
	}
	workers := &serviceWorkers{byID: map[actors.ID]*serviceWorker{}, order: startOrd, logger: logger}
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
		w.sup, d.sups[svc.Name], workers.byID[id] = sup, sup, w
	}
	return workers, nil
}

// selfCommand, as a service's command, names the daemon's own binary.
const selfCommand = "statemgrd"

// shutdown stops the daemon in order: its core (stopCore), then NATS
// and the page.
func (d *statemgrd) shutdown(grace time.Duration) error {
	d.cycle.Lock()
	defer d.cycle.Unlock()
	errs := []error{d.stopCore(grace)}
	if d.sim != nil {
		errs = append(errs, d.sim.Close())
		d.sim = nil
	}
	d.cancel()
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

// stopCore stops the core in order: stop taking requests, then the
// assembly (the coordinator, the services through their machines, the
// hardware, the component actors after their queued messages), stop what
// is left of the services, sync and close the log. It is safe on a core
// started part way, and a second call does nothing.
func (d *statemgrd) stopCore(grace time.Duration) error {
	d.health.ready.Store(false)
	var errs []error
	if d.psuMetrics != nil {
		d.metrics.registry.Unregister(d.psuMetrics)
		d.psuMetrics = nil
	}
	if d.api != nil {
		// No new requests; in-flight ones finish.
		errs = append(errs, d.api.Stop())
		d.api = nil
	}
	if d.asm != nil {
		// The coordinator's stop waits up to grace, and the services' stop
		// through their machines as long again.
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		errs = append(errs, d.asm.StopWith(ctx, assembly.StopOptions{ServicesGrace: grace}))
		cancel()
		d.asm = nil
	}
	if d.coreCancel != nil {
		d.coreCancel()
	}
	for _, c := range d.cleanups {
		<-c.Done() // bounded: SIGKILL at once, then the kill wait
	}
	d.cleanups = nil
	if len(d.sups) > 0 {
		// Whatever did not stop through its machine is stopped now:
		// children never outlive the daemon.
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		errs = append(errs, process.CloseAll(ctx, d.stopOrd, d.sups))
		cancel()
		d.sups = nil
	}
	if d.log != nil {
		d.health.log.Store(nil)
		errs = append(errs, d.log.Close())
		d.log = nil
	}
	return errors.Join(errs...)
}

// resetBMC is the devices' RebootBMC on a platform whose BMC reset is
// restart-daemon: it marks the reset in the data directory and tells run,
// which stops the daemon in order and starts it again, recording a BMC
// boot with reboot cause Software (graceful or forced alike: the daemon's
// shutdown is the simulated BMC's reboot). It returns at once: the device
// actor that calls it is stopped by that shutdown.
func (d *statemgrd) resetBMC(_ context.Context, force bool) error {
	if d.plat.BMC.Reset != platform.BMCResetRestartDaemon {
		return fmt.Errorf("the platform's BMC reset is %q: statemgrd cannot reset this BMC", d.plat.BMC.Reset)
	}
	if err := markReset(d.dataDir); err != nil {
		return err
	}
	select {
	case d.resets <- force:
	default: // a reset is already pending
	}
	return nil
}
