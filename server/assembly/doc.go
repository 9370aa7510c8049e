// Package assembly is statemgr's composition root: the one place that
// builds the system from its layers and starts and stops it in order. The
// daemon (cmd/statemgrd), the simulation (sim) and the test rigs
// (server/servertest) use it, so there is one boot order and one
// shutdown order, and the simulation runs the wiring the daemon runs.
//
// Start order: the devices (adapters/devices); the LEDs (adapters/leds,
// on Config.LEDBoard or the devices' board), which hear every component's
// durable status (protoactor.Config.OnChange; Config.OnChange hears it
// after them); the components
// (actors/protoactor), recovered from snapshot and log, with their effects
// routed to the devices or, for services, to Config.Services; the BMC boot
// if the BMC rebooted (Config.BMCBoot); the BMC Ready; the coordinator,
// which resumes or compensates unfinished operations and decides the
// power-restore policy (before the reconciliation, which would overwrite
// the states last observed before an AC loss); the reconciliation with the
// hardware; then the devices run; then the services resume
// (ServiceResumer). Stop is the reverse: the coordinator, the services
// through their machines (StopOptions.ServicesGrace, the daemon's orderly
// shutdown), the devices, the components, the LEDs. Config.OnStage hears
// each Stage; Config.OnRecovered (the daemon's metrics) runs after the recovery and
// before anything new is logged, Config.OnBMCBoot once the boot is logged.
//
// What differs between callers is configuration: the clock (clock.Real or
// a *clock.Virtual with Config.Await, the simulation's hook that moves
// the clock while a step waits on it), the platform and its simulated
// board (Config.Devices.Sim), the services' performer, the BMC reset
// (Config.Devices.RebootBMC: the simulation restarts its assembly, the
// daemon marks the reset in its data directory and restarts whole), and the
// simulation's crash-style stop (StopWith, StopOptions.BeforeComponents).
// The log, the snapshots and the NATS API are the caller's: they outlive
// an assembly (the simulation restarts daemons over one log).
//
// It sits in server/ because it is the only level above both actors/ and
// adapters/ and below sim/ and cmd/ (package main cannot be imported): it
// asserts the contracts the devices satisfy (the components' Effector,
// coordinator.Hardware through Board, which also judges PSU status
// registers for the coordinator) and holds SystemObserver and SettleWith.
package assembly
