package assembly

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/server/inputs"
	"github.com/statemgr/statemgr/snapshots"
)

// ErrInvalidConfig means a Config cannot be assembled; the error says
// which field is missing.
var ErrInvalidConfig = errors.New("invalid assembly config")

// Config is what differs between the daemon, the simulation and the test
// rigs; the order of Start and Stop does not.
type Config struct {
	Platform *platform.Platform
	// Compiled are the components' machines; nil: Platform.Compiled().
	Compiled       map[actors.ID]*machine.Compiled
	Log            events.Log
	Snapshots      snapshots.Store
	SnapshotPolicy snapshots.Policy
	// Clock is clock.Real{} in the daemon, a *clock.Virtual in the
	// simulation (with Await).
	Clock  clock.Clock
	Logger hclog.Logger // nil: no logging
	// Devices configures the hardware layer; its Platform, Clock and
	// Logger are the assembly's. Its Sim is the simulated platform, if any.
	Devices devices.Config
	// Services performs the effects of service components; nil: nobody,
	// they are only recorded. If it is also a ServiceResumer, Start ends
	// by resuming the services (StageServices).
	Services protoactor.Effector
	// Seed seeds the components' restart jitter (protoactor.Config.Seed).
	Seed     uint64
	Policy   coordinator.Policy
	Timeouts coordinator.Timeouts
	// BMCBoot, when Value is set, is recorded as the BMC's booted
	// observation before anything else happens: the BMC itself rebooted
	// (not only the daemon), with its reboot cause.
	BMCBoot machine.Input
	// OnBMCBoot runs once the BMC boot is durable in the log; its error
	// fails Start. The daemon records the kernel's boot id there, so that
	// a restart within this boot is not taken for another.
	OnBMCBoot func() error
	// OnRecovered runs once the components are recovered (a.Recovered),
	// before anything new is logged; its error fails Start. The daemon
	// binds its observer and seeds its metrics there, and follows the log
	// from its head.
	OnRecovered func(ctx context.Context, a *Assembly) error
	// Observer hears the devices' observations; nil: SystemObserver over
	// the components. The daemon's routes host crashes to the coordinator.
	Observer func(*protoactor.System, *coordinator.Coordinator) devices.Observer
	// Await runs a step that may wait on the clock (the coordinator's
	// start and stop, the reconciliation's reads), given the assembly as
	// far as it is built (its Coordinator included). The simulation moves
	// its virtual clock meanwhile; nil: the step is called directly.
	Await Await
	// OnChange hears each component's durable status after the LEDs do
	// (protoactor.Config.OnChange: the daemon's standing-alert metrics).
	// It runs on the component's actor and must not block.
	OnChange func(protoactor.Change)
	// OnRequest is protoactor.Config.OnRequest (the daemon's metrics).
	OnRequest func(kind machine.InputKind, d time.Duration, err error)
	// OnStage hears each stage of Start and Stop as it begins (the
	// daemon tells systemd; tests check the order).
	OnStage func(Stage)
	// Inputs are the external inputs' reports (the server feeds them from
	// NATS); nil: the platform's input blocks have no reports. The
	// coordinator reads them for its interlocks and emergencies, and a
	// thermal input turning critical starts the thermal emergency at once.
	// Like the log, the Store is the caller's: it outlives an assembly.
	Inputs *inputs.Store
	// LEDBoard is where the platform's LEDs are; nil: the devices'
	// (devices.Hardware.LEDBoard). Tests pass a leds.Panel to see them.
	LEDBoard leds.Board
}

// Await runs step, which may wait on the clock, for a of Start or Stop.
type Await func(ctx context.Context, a *Assembly, step func(context.Context) error) error

// Stage is a step of Start or Stop, in the order they run.
type Stage string

// The stages of Start, then those of Stop.
const (
	StageDevices        Stage = "open the devices"
	StageComponents     Stage = "recover the components"
	StageBMCBoot        Stage = "record the BMC boot"
	StageBMCReady       Stage = "mark the BMC ready"
	StageCoordinator    Stage = "resume unfinished operations"
	StageReconciliation Stage = "reconcile with the hardware"
	StageRunning        Stage = "run the devices"
	StageServices       Stage = "resume the services"

	StageStopCoordinator Stage = "stop the coordinator"
	StageStopServices    Stage = "stop the services"
	StageStopDevices     Stage = "release the devices"
	StageStopComponents  Stage = "stop the components"
)

// Assembly is one running statemgr: devices, components and the
// coordinator over one log.
type Assembly struct {
	cfg         Config
	Hardware    *devices.Hardware
	System      *protoactor.System
	Coordinator *coordinator.Coordinator
	// LEDs drives the platform's LEDs from the components' durable states.
	LEDs *leds.Controller
	// Recovered are the components' statuses as recovered from the log,
	// before the BMC boot, the coordinator or the reconciliation wrote.
	Recovered map[actors.ID]machine.Status
	// Drifts are what the startup reconciliation found.
	Drifts   []devices.Drift
	cancel   context.CancelFunc
	released bool // the devices are closed
}

func (c *Config) check() error {
	switch {
	case c.Platform == nil:
		return fmt.Errorf("%w: Platform is nil", ErrInvalidConfig)
	case c.Log == nil:
		return fmt.Errorf("%w: Log is nil", ErrInvalidConfig)
	case c.Snapshots == nil:
		return fmt.Errorf("%w: Snapshots is nil", ErrInvalidConfig)
	case c.Clock == nil:
		return fmt.Errorf("%w: Clock is nil", ErrInvalidConfig)
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Await == nil {
		c.Await = func(ctx context.Context, _ *Assembly, step func(context.Context) error) error { return step(ctx) }
	}
	if c.Observer == nil {
		c.Observer = func(sys *protoactor.System, _ *coordinator.Coordinator) devices.Observer {
			return SystemObserver{System: sys}
		}
	}
	if c.OnStage == nil {
		c.OnStage = func(Stage) {}
	}
	return nil
}

// Start brings statemgr up in its one order: the devices; the components,
// recovered from snapshot and log; the BMC boot if the BMC rebooted; the
// BMC Ready; the coordinator, which resumes or compensates unfinished
// operations and decides the power-restore policy from the states last
// observed before an AC loss (so before the reconciliation overwrites them
// with what the board shows now, and after BMC Ready, so that neither is
// refused as bmc_not_ready); the reconciliation with the hardware; then
// the devices run (observations, polls, the running reconciler); then the
// services resume, if Config.Services is a ServiceResumer. Config's hooks
// run at fixed points: OnRecovered after the recovery, OnBMCBoot after the
// boot is logged, OnStage as each stage begins. Everything runs until Stop. On error Start stops what it started, the
// log and snapshots excepted: they are the caller's.
func Start(ctx context.Context, cfg Config) (a *Assembly, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	compiled := cfg.Compiled
	if compiled == nil {
		if compiled, err = cfg.Platform.Compiled(); err != nil {
			return nil, err
		}
	}
	a = &Assembly{cfg: cfg}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.Stop(context.WithoutCancel(ctx)))
		}
	}()
	cfg.OnStage(StageDevices)
	dc := cfg.Devices
	dc.Platform, dc.Clock, dc.Logger = cfg.Platform, cfg.Clock, cfg.Logger
	if a.Hardware, err = devices.New(dc); err != nil {
		return a, err
	}
	board := cfg.LEDBoard
	if board == nil {
		board = a.Hardware.LEDBoard()
	}
	if a.LEDs, err = leds.New(ctx, leds.Config{Locations: cfg.Platform.LEDLocations(), Board: board, Log: cfg.Log,
		Clock: cfg.Clock, Logger: cfg.Logger.Named("leds")}); err != nil {
		return a, err
	}
	cfg.OnStage(StageComponents)
	ledsCtl := a.LEDs
	a.System, err = protoactor.Start(protoactor.Config{Log: cfg.Log, Snapshots: cfg.Snapshots, SnapshotPolicy: cfg.SnapshotPolicy,
		Clock: cfg.Clock, Logger: cfg.Logger.Named("components"), Effects: effectRouter{hw: a.Hardware, services: cfg.Services},
		Seed: cfg.Seed, OnRequest: cfg.OnRequest, OnChange: func(ch protoactor.Change) {
			ledsCtl.Observe(ch.ID, ch.Status.State, ch.Kind, ch.Power, len(ch.Alerts))
			if cfg.OnChange != nil {
				cfg.OnChange(ch)
			}
		}}, compiled)
	if err != nil {
		return a, err
	}
	if a.Recovered, err = a.Statuses(ctx); err != nil {
		return a, err
	}
	if cfg.OnRecovered != nil {
		if err := cfg.OnRecovered(ctx, a); err != nil {
			return a, err
		}
	}
	topo := coordinator.TopologyOf(cfg.Platform)
	if cfg.BMCBoot.Value != "" {
		cfg.OnStage(StageBMCBoot)
		in := cfg.BMCBoot
		in.Kind, in.Trigger = machine.KindObservation, machine.ObservedBooted
		if _, err := a.System.Request(ctx, topo.BMC, in); err != nil {
			return a, fmt.Errorf("cannot record the BMC boot: %w", err)
		}
		if cfg.OnBMCBoot != nil {
			if err := cfg.OnBMCBoot(); err != nil {
				return a, err
			}
		}
	}
	if v, err := a.System.Get(ctx, topo.BMC); err == nil && v.Status.State == machine.StateNotReady {
		cfg.OnStage(StageBMCReady)
		in := machine.Input{Kind: machine.KindObservation, Trigger: machine.ObservedServicesReady, Cause: "statemgrd recovered its components"}
		if _, err := a.System.Request(ctx, topo.BMC, in); err != nil {
			return a, fmt.Errorf("cannot record the BMC ready: %w", err)
		}
	}
	cfg.OnStage(StageCoordinator)
	coCfg := coordinator.Config{Log: cfg.Log, Components: a.System, Hardware: Board{a.Hardware}, Clock: cfg.Clock,
		Topology: topo, Policy: cfg.Policy, Timeouts: cfg.Timeouts, Logger: cfg.Logger}
	if cfg.Inputs != nil {
		coCfg.Inputs = cfg.Inputs
	}
	co, err := coordinator.New(coCfg)
	if err != nil {
		return a, err
	}
	a.Coordinator = co
	if cfg.Inputs != nil {
		cfg.Inputs.OnCritical(func(zone, evidence string) { a.inputEmergency(co, zone, evidence) })
	}
	if err := cfg.Await(ctx, a, co.Start); err != nil {
		return a, fmt.Errorf("cannot start the coordinator: %w", err)
	}
	cfg.OnStage(StageReconciliation)
	current, err := a.Statuses(ctx)
	if err != nil {
		return a, err
	}
	// Reading the hardware may wait for the clock (retries after bus
	// faults).
	if err := cfg.Await(ctx, a, func(ctx context.Context) (err error) {
		a.Drifts, err = a.Hardware.Reconcile(ctx, current)
		return err
	}); err != nil {
		return a, fmt.Errorf("cannot reconcile with the hardware: %w", err)
	}
	for _, dr := range a.Drifts {
		var absent *devices.UnreachablePSU
		if errors.As(dr.Err, &absent) {
			// statemgrd runs on: the BMC must stay reachable to show
			// which PSU is missing, and power-offs need no PSU read.
			cfg.Logger.Error("psu does not answer at startup; running with it unreachable: power-ons of its chassis are refused (psu_unreachable) until it answers",
				"psu", absent.PSU, "chassis", dr.Component, "backend", absent.Backend, "bus", absent.Bus, "address", fmt.Sprintf("0x%02X", absent.Address), "error", absent)
			continue
		}
		cfg.Logger.Warn("hardware differs from the log; recorded", "component", dr.Component, "device", dr.Device, "log", dr.Recorded, "hardware", dr.Observed)
	}
	cfg.OnStage(StageRunning)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	if err := a.Hardware.Run(runCtx, cfg.Observer(a.System, co)); err != nil {
		return a, err
	}
	if r, ok := cfg.Services.(ServiceResumer); ok {
		cfg.OnStage(StageServices)
		if err := r.Resume(ctx, a.System); err != nil {
			return a, fmt.Errorf("cannot resume the services: %w", err)
		}
	}
	return a, nil
}

// StopOptions tune Stop for the simulation's crash.
type StopOptions struct {
	// Await runs the coordinator's stop, which may wait on the clock (a
	// saga releases a button it holds); nil: Config.Await.
	Await Await
	// ServicesGrace, when positive, has Stop ask every running service's
	// machine to stop, in stop order, after the coordinator and before
	// the devices, and wait up to this long for them (StageStopServices):
	// the log then records the shutdown as an intentional stop. Zero: the
	// services are not asked (the simulation's crash, the test rigs).
	ServicesGrace time.Duration
	// BeforeComponents runs once the devices are released and before the
	// components stop, with the error so far; what it returns is Stop's
	// error. The simulation checks and crashes its log there.
	BeforeComponents func(err error) error
}

// Stop stops in the reverse order of Start: the coordinator (sagas in
// flight stop where they are, durable in the log; the next start resumes
// or compensates them), the services if StopOptions.ServicesGrace says
// so, the devices (a pulse in progress ends with its
// line deasserted), then the components after their queued messages. It
// is safe after a Start that failed part way, and a second Stop does
// nothing.
func (a *Assembly) Stop(ctx context.Context) error { return a.StopWith(ctx, StopOptions{}) }

// StopWith is Stop with options.
func (a *Assembly) StopWith(ctx context.Context, o StopOptions) error {
	await := o.Await
	if await == nil {
		await = a.cfg.Await
	}
	var errs []error
	if a.cfg.Inputs != nil {
		a.cfg.Inputs.OnCritical(nil)
	}
	if a.Coordinator != nil {
		a.cfg.OnStage(StageStopCoordinator)
		co := a.Coordinator
		errs = append(errs, await(ctx, a, func(ctx context.Context) error { co.Stop(ctx); return nil }))
		a.Coordinator = nil
	}
	if o.ServicesGrace > 0 && a.System != nil && !a.released {
		a.cfg.OnStage(StageStopServices)
		errs = append(errs, a.stopServices(ctx, o.ServicesGrace))
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.Hardware != nil && !a.released {
		a.released = true
		a.cfg.OnStage(StageStopDevices)
		errs = append(errs, a.Hardware.Close()) // a second Close does nothing
	}
	err := errors.Join(errs...)
	if o.BeforeComponents != nil {
		err = o.BeforeComponents(err)
	}
	if a.System != nil {
		a.cfg.OnStage(StageStopComponents)
		a.System.Stop()
		a.System = nil
	}
	if a.LEDs != nil {
		// After the components, which tell it their states.
		err = errors.Join(err, a.LEDs.Close())
		a.LEDs = nil
	}
	return err
}

// inputEmergency starts the thermal emergency of a thermal input that
// turned critical, as the daemon does for a zone of its own sensors. It
// runs on a goroutine the coordinator counts (Hold), so that a driver of a
// virtual clock sees it as work; the emergency supersedes what runs on
// its hosts first, which may wait on the clock. One already running
// (ErrBusy) covers it.
func (a *Assembly) inputEmergency(co *coordinator.Coordinator, zone, evidence string) {
	ctx, release := co.Hold(context.Background())
	go func() {
		defer release()
		if _, err := co.Emergency(ctx, coordinator.ThermalCritical, zone, evidence); err != nil && !errors.Is(err, coordinator.ErrBusy) {
			a.cfg.Logger.Error("cannot start the thermal emergency of an external input", "input", "thermal."+zone, "error", err)
		}
	}()
}

// Statuses reads every component's recorded status.
func (a *Assembly) Statuses(ctx context.Context) (map[actors.ID]machine.Status, error) {
	out := map[actors.ID]machine.Status{}
	for _, id := range a.System.IDs() {
		v, err := a.System.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", id, err)
		}
		out[id] = v.Status
	}
	return out, nil
}

// effectRouter performs the effects of services on the services'
// Effector and the rest (hosts, chassis, the BMC) on the devices. The
// component shell hands over no effect of a coordinator saga step
// (machine.Effect.PerformedBy).
type effectRouter struct {
	hw       *devices.Hardware
	services protoactor.Effector
}

func (r effectRouter) Perform(id actors.ID, effects []machine.Effect) {
	switch {
	case id.Kind() != actors.KindService:
		r.hw.Perform(id, effects)
	case r.services != nil:
		r.services.Perform(id, effects)
	}
}
