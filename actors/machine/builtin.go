package machine

import (
	"fmt"
	"time"
)

// HostConfig tunes the built-in host machine.
type HostConfig struct {
	// PowerGoodTimeout bounds TransitioningToRunning: power good must rise
	// this long after the power button is pressed (x86-power-control's
	// PowerOKWatchdogMs). A power cycle's off time is added to it, because
	// the press of a cycle waits out that off time inside the same state.
	PowerGoodTimeout time.Duration
	// GracefulShutdownTimeout bounds TransitioningToOff. When it passes the
	// machine holds the power button and goes to Error, never back to
	// Running (x86-power-control's gracefulPowerOffTimerExpired bug).
	GracefulShutdownTimeout time.Duration
	PowerButtonPulse        time.Duration // a press (ACPI power button push)
	ForceOffHold            time.Duration // a hold (ACPI override; Redfish says four seconds)
	ResetPulse              time.Duration // RESET_OUT pulse for ForceRestart
	PowerCycleOffTime       time.Duration // how long a cycled host stays off
}

// DefaultHostConfig returns x86-power-control's and Redfish's timings.
func DefaultHostConfig() HostConfig {
	return HostConfig{
		PowerGoodTimeout:        8 * time.Second,
		GracefulShutdownTimeout: 300 * time.Second,
		PowerButtonPulse:        200 * time.Millisecond,
		ForceOffHold:            4 * time.Second,
		ResetPulse:              500 * time.Millisecond,
		PowerCycleOffTime:       5 * time.Second,
	}
}

// Host returns the host machine (PDI State.Host plus an Error state).
// Requests are the Redfish ResetType values; see the package documentation
// for the full table.
func Host(cfg HostConfig) *Machine {
	press := fmt.Sprintf("press_power_button(duration=%s)", cfg.PowerButtonPulse)
	pressAfterOff := fmt.Sprintf("press_power_button(duration=%s, delay=%s)", cfg.PowerButtonPulse, cfg.PowerCycleOffTime)
	hold := fmt.Sprintf("hold_power_button(duration=%s)", cfg.ForceOffHold)
	reset := fmt.Sprintf("pulse_reset(duration=%s)", cfg.ResetPulse)
	const (
		off, toRunning, running, toOff = StateOff, StateTransitioningToRunning, StateRunning, StateTransitioningToOff
		quiesced, diag, failed         = StateQuiesced, StateDiagnosticMode, StateError
		resetBoot, recordBoot          = "reset_boot_progress", "record_boot_progress"
	)
	powerOnWindow := cfg.PowerGoodTimeout + cfg.PowerCycleOffTime
	return &Machine{
		Kind:    KindHost,
		Initial: off,
		States: []State{
			// A transitional state reads the level it leaves until the
			// hardware gets where it goes; Error: only the hardware knows.
			{Name: off, Kind: Stable, Power: PowerOff},
			{Name: toRunning, Kind: Transitional, Timeout: powerOnWindow, TimeoutTo: failed, Power: PowerOff},
			{Name: running, Kind: Stable, Power: PowerOn},
			{Name: toOff, Kind: Transitional, Timeout: cfg.GracefulShutdownTimeout, TimeoutTo: failed, Power: PowerOn},
			{Name: quiesced, Kind: Stable, Power: PowerOn},
			{Name: diag, Kind: Stable, Power: PowerOn},
			{Name: failed, Kind: ErrorKind, Power: PowerAny},
		},
		Transitions: []Transition{
			// A host cannot start without chassis power (OpenBMC #1933's
			// cousin): the request is refused with "power the chassis on
			// first", whoever sends it.
			tr(off, RequestOn, toRunning, press, resetBoot).when("!firmware_update_in_progress", "chassis_on"),
			tr(off, RequestForceOn, toRunning, press, resetBoot).when("chassis_on"),
			tr(off, RequestPushPowerButton, toRunning, press, resetBoot).when("chassis_on"),
			tr(off, ObservedPowerGoodAsserted, running, resetBoot),

			tr(toRunning, ObservedPowerGoodAsserted, running),
			tr(toRunning, ObservedBootProgress, toRunning, recordBoot),
			tr(toRunning, RequestForceOff, toOff, hold),
			tr(toRunning, TriggerTimeout, failed, alert(fmt.Sprintf("power good not asserted within %s", powerOnWindow))),

			tr(running, RequestGracefulShutdown, toOff, press),
			tr(running, RequestPushPowerButton, toOff, press),
			tr(running, RequestForceOff, toOff, hold),
			tr(running, RequestGracefulRestart, toOff, press),
			tr(running, RequestPowerCycle, toOff, hold),
			tr(running, RequestForceRestart, running, reset, resetBoot),
			tr(running, RequestNmi, diag, "nmi"),
			tr(running, ObservedPowerGoodDeasserted, off, resetBoot, alert("power good lost while Running")),
			tr(running, ObservedOSShutdown, toOff),
			tr(running, ObservedPostComplete, running, recordBoot+"(stage=OSStart)"),
			tr(running, ObservedBootProgress, running, recordBoot),
			tr(running, ObservedWatchdogExpired, running, reset, resetBoot).when("auto_reboot"),
			tr(running, ObservedWatchdogExpired, quiesced, alert("host watchdog expired")).when("!auto_reboot"),
			tr(running, ObservedHostCrash, running, reset, resetBoot).when("auto_reboot"),
			tr(running, ObservedHostCrash, quiesced, alert("host crashed")).when("!auto_reboot"),

			tr(toOff, ObservedPowerGoodDeasserted, off, resetBoot).when("!restart_requested"),
			tr(toOff, ObservedPowerGoodDeasserted, toRunning, pressAfterOff, resetBoot).when("restart_requested"),
			tr(toOff, RequestForceOff, toOff, hold),
			tr(toOff, TriggerTimeout, failed, hold,
				alert(fmt.Sprintf("host did not power off within %s; power button override issued", cfg.GracefulShutdownTimeout))),

			tr(quiesced, RequestForceOff, toOff, hold),
			tr(quiesced, RequestPowerCycle, toOff, hold),
			tr(quiesced, RequestForceRestart, running, reset, resetBoot),
			tr(quiesced, RequestNmi, diag, "nmi"),
			tr(quiesced, ObservedPowerGoodDeasserted, off, resetBoot),

			tr(diag, RequestForceOff, toOff, hold),
			tr(diag, RequestPowerCycle, toOff, hold),
			tr(diag, RequestForceRestart, running, reset, resetBoot),
			tr(diag, ObservedPowerGoodDeasserted, off, resetBoot),
			tr(diag, ObservedHostCrash, quiesced, alert("host crashed in DiagnosticMode")),

			tr(failed, RequestForceOff, toOff, hold),
			tr(failed, RequestPowerCycle, toOff, hold),
			tr(failed, ObservedPowerGoodDeasserted, off, resetBoot),
			tr(failed, ObservedPowerGoodAsserted, running),

			// Chassis power lost under the host: it is off, whatever it was
			// doing, recorded before the chassis so that no host is ever
			// recorded up under a chassis that is not On.
			tr(toRunning, ObservedChassisPowerLost, off, resetBoot, alert("chassis power lost during power on")),
			tr(running, ObservedChassisPowerLost, off, resetBoot, alert("chassis power lost while Running")),
			tr(toOff, ObservedChassisPowerLost, off, resetBoot),
			tr(quiesced, ObservedChassisPowerLost, off, resetBoot),
			tr(diag, ObservedChassisPowerLost, off, resetBoot),
			tr(failed, ObservedChassisPowerLost, off, resetBoot),
		},
	}
}

// ChassisConfig tunes the built-in chassis machine.
type ChassisConfig struct {
	// PowerOnTimeout bounds TransitioningToOn; a cycle's off time is added,
	// as for HostConfig.PowerGoodTimeout.
	PowerOnTimeout time.Duration
	// PowerOffTimeout bounds TransitioningToOff and PowerCycling (until
	// power good drops).
	PowerOffTimeout   time.Duration
	PowerCycleOffTime time.Duration // x86-power-control's PowerCycleMs
}

// DefaultChassisConfig returns the default chassis timings.
func DefaultChassisConfig() ChassisConfig {
	return ChassisConfig{PowerOnTimeout: 10 * time.Second, PowerOffTimeout: 10 * time.Second, PowerCycleOffTime: 5 * time.Second}
}

// Chassis returns the chassis machine (PDI State.Chassis plus PowerCycling
// and Error). Requests are On, Off and PowerCycle; every state records
// power_status observations into Status.PowerStatus, and On is refused
// while the input power is BrownOut or on UPS.
func Chassis(cfg ChassisConfig) *Machine {
	const (
		off, toOn, on, toOff, cycling, failed = StateOff, StateTransitioningToOn, StateOn, StateTransitioningToOff, StatePowerCycling, StateError
		seqOn, seqOff                         = "sequence_power_on", "sequence_power_off"
	)
	powerOnWindow := cfg.PowerOnTimeout + cfg.PowerCycleOffTime
	m := &Machine{
		Kind:    KindChassis,
		Initial: off,
		States: []State{
			// As the host's: transitional states read the level they leave
			// (a power cycle reads on until power good drops).
			{Name: off, Kind: Stable, Power: PowerOff},
			{Name: toOn, Kind: Transitional, Timeout: powerOnWindow, TimeoutTo: failed, Power: PowerOff},
			{Name: on, Kind: Stable, Power: PowerOn},
			{Name: toOff, Kind: Transitional, Timeout: cfg.PowerOffTimeout, TimeoutTo: failed, Power: PowerOn},
			{Name: cycling, Kind: Transitional, Timeout: cfg.PowerOffTimeout, TimeoutTo: failed, Power: PowerOn},
			{Name: failed, Kind: ErrorKind, Power: PowerAny},
		},
		Transitions: []Transition{
			tr(off, RequestOn, toOn, seqOn).when("power_status_good"),
			tr(off, ObservedPowerGoodAsserted, on),

			tr(toOn, ObservedPowerGoodAsserted, on),
			tr(toOn, RequestOff, toOff, seqOff),
			// Do not leave rails half up (phosphor-state-manager's
			// obmc-chassis-poweron OnFailure=obmc-chassis-poweroff).
			tr(toOn, TriggerTimeout, failed, seqOff, alert(fmt.Sprintf("chassis power good not asserted within %s", powerOnWindow))),

			// Never cut power under a running host (OpenBMC #1933).
			tr(on, RequestOff, toOff, seqOff).when("hosts_off"),
			tr(on, RequestPowerCycle, cycling, seqOff).when("hosts_off"),
			tr(on, ObservedPowerGoodDeasserted, off, alert("chassis power good lost while On")),

			tr(toOff, ObservedPowerGoodDeasserted, off),
			tr(toOff, TriggerTimeout, failed, alert(fmt.Sprintf("chassis power good still asserted %s after power off", cfg.PowerOffTimeout))),

			tr(cycling, ObservedPowerGoodDeasserted, toOn, fmt.Sprintf("%s(delay=%s)", seqOn, cfg.PowerCycleOffTime)),
			tr(cycling, TriggerTimeout, failed, alert(fmt.Sprintf("chassis power good still asserted %s into a power cycle", cfg.PowerOffTimeout))),

			tr(failed, RequestOff, toOff, seqOff),
			tr(failed, RequestPowerCycle, cycling, seqOff),
			tr(failed, ObservedPowerGoodDeasserted, off),
			tr(failed, ObservedPowerGoodAsserted, on),
		},
	}
	for _, s := range m.States {
		m.Transitions = append(m.Transitions, tr(s.Name, ObservedPowerStatus, s.Name, "record_power_status"))
	}
	return m
}

// BMCConfig tunes the built-in BMC machine.
type BMCConfig struct {
	ReadyTimeout  time.Duration // NotReady → Quiesced when critical services do not come up
	UpdateTimeout time.Duration // UpdateInProgress → Quiesced
	RebootTimeout time.Duration // Rebooting → Quiesced when the reboot never happens
}

// DefaultBMCConfig returns the default BMC timings.
func DefaultBMCConfig() BMCConfig {
	return BMCConfig{ReadyTimeout: 10 * time.Minute, UpdateTimeout: time.Hour, RebootTimeout: 10 * time.Minute}
}

// BMC returns the BMC machine (PDI State.BMC plus Maintenance and
// Rebooting). Requests are the Redfish Manager.Reset values GracefulRestart
// and ForceRestart, plus EnterMaintenance and ExitMaintenance. A booted
// observation, with the reboot cause as its value, is accepted in every
// state, because a watchdog or pinhole reset can interrupt any of them.
func BMC(cfg BMCConfig) *Machine {
	const (
		notReady, ready, maint, updating, quiesced, rebooting = StateNotReady, StateReady, StateMaintenance, StateUpdateInProgress, StateQuiesced, StateRebooting
		reboot, forceReboot                                   = "reboot_bmc", "reboot_bmc(force=true)"
		serviceFailed                                         = "record_failure(what=critical service)"
		// canReset: a reset the platform cannot carry out is refused up
		// front, not left to time out in Rebooting.
		canReset = "bmc_reset_available"
	)
	m := &Machine{
		Kind:    KindBMC,
		Initial: notReady,
		States: []State{
			{Name: notReady, Kind: Transitional, Timeout: cfg.ReadyTimeout, TimeoutTo: quiesced},
			{Name: ready, Kind: Stable},
			{Name: maint, Kind: Stable},
			{Name: updating, Kind: Transitional, Timeout: cfg.UpdateTimeout, TimeoutTo: quiesced},
			{Name: quiesced, Kind: ErrorKind},
			{Name: rebooting, Kind: Transitional, Timeout: cfg.RebootTimeout, TimeoutTo: quiesced},
		},
		Transitions: []Transition{
			tr(notReady, ObservedServicesReady, ready),
			tr(notReady, ObservedCriticalServiceFailed, quiesced, serviceFailed, alert("critical service failed")),
			tr(notReady, RequestGracefulRestart, rebooting, reboot).when(canReset),
			tr(notReady, RequestForceRestart, rebooting, forceReboot).when(canReset),
			tr(notReady, TriggerTimeout, quiesced, alert(fmt.Sprintf("BMC services not ready within %s", cfg.ReadyTimeout))),

			tr(ready, RequestEnterMaintenance, maint),
			tr(ready, RequestGracefulRestart, rebooting, reboot).when(canReset, "!firmware_update_in_progress"),
			tr(ready, RequestForceRestart, rebooting, forceReboot).when(canReset),
			tr(ready, ObservedUpdateStarted, updating),
			tr(ready, ObservedCriticalServiceFailed, quiesced, serviceFailed, alert("critical service failed")),

			tr(maint, RequestExitMaintenance, ready),
			tr(maint, RequestGracefulRestart, rebooting, reboot).when(canReset),
			tr(maint, RequestForceRestart, rebooting, forceReboot).when(canReset),
			tr(maint, ObservedUpdateStarted, updating),
			tr(maint, ObservedCriticalServiceFailed, quiesced, serviceFailed, alert("critical service failed")),

			tr(updating, ObservedUpdateFinished, ready),
			tr(updating, ObservedUpdateFailed, ready, alert("firmware update failed")),
			tr(updating, ObservedCriticalServiceFailed, quiesced, serviceFailed, alert("critical service failed during update")),
			tr(updating, RequestForceRestart, rebooting, forceReboot).when(canReset),
			tr(updating, TriggerTimeout, quiesced, alert(fmt.Sprintf("firmware update did not finish within %s", cfg.UpdateTimeout))),

			tr(quiesced, RequestGracefulRestart, rebooting, reboot).when(canReset),
			tr(quiesced, RequestForceRestart, rebooting, forceReboot).when(canReset),

			tr(rebooting, TriggerTimeout, quiesced, alert(fmt.Sprintf("BMC did not reboot within %s", cfg.RebootTimeout))),
		},
	}
	for _, s := range m.States {
		m.Transitions = append(m.Transitions, tr(s.Name, ObservedBooted, notReady, "record_reboot_cause", "clear_failure"))
	}
	return m
}

// ServiceConfig tunes the built-in service machine.
type ServiceConfig struct {
	// StartTimeout bounds Starting; 0 means none, leaving a slow start to
	// CheckAlerts (Starting has an error exit, initialization_failed).
	StartTimeout time.Duration
	// StopTimeout bounds Stopping and Restarting; 0 means none.
	StopTimeout time.Duration
}

// DefaultServiceConfig returns no timeouts: the supervisor reports failures,
// and CheckAlerts flags services that are slow to start or stop.
func DefaultServiceConfig() ServiceConfig { return ServiceConfig{} }

// Service returns the supervised-service machine. Requests are Start, Stop,
// Restart and Reset (the only way out of Error); observations come from the
// supervisor: initialized, initialization_failed, runtime_error,
// stop_failed and stopped.
func Service(cfg ServiceConfig) *Machine {
	const (
		stopped, starting, running, stopping, failed, restarting = StateStopped, StateStarting, StateRunning, StateStopping, StateError, StateRestarting
		start, stop, kill                                        = "start_process", "stop_process", "stop_process(force=true)"
	)
	withTimeout := func(s State, d time.Duration) State {
		if d > 0 {
			s.Timeout, s.TimeoutTo = d, failed
		}
		return s
	}
	m := &Machine{
		Kind:    KindService,
		Initial: stopped,
		States: []State{
			{Name: stopped, Kind: Stable},
			withTimeout(State{Name: starting, Kind: Transitional}, cfg.StartTimeout),
			{Name: running, Kind: Stable},
			withTimeout(State{Name: stopping, Kind: Transitional}, cfg.StopTimeout),
			{Name: failed, Kind: ErrorKind},
			withTimeout(State{Name: restarting, Kind: Transitional}, cfg.StopTimeout),
		},
		Transitions: []Transition{
			tr(stopped, RequestStart, starting, start, "clear_failure"),

			tr(starting, ObservedInitialized, running),
			tr(starting, ObservedInitializationFailed, failed, "record_failure(what=initialization)").when("!restart_pending"),
			tr(starting, ObservedInitializationFailed, restarting, "record_failure(what=initialization)").when("restart_pending"),
			tr(starting, ObservedStopped, failed, "record_failure(what=initialization)").when("!restart_pending"),
			tr(starting, ObservedStopped, restarting, "record_failure(what=initialization)").when("restart_pending"),
			tr(starting, RequestStop, stopping, stop),

			// An unexpected exit goes to Restarting when the supervisor's
			// policy restarts the process (it says so with the
			// restart_pending fact), to Error when it does not.
			tr(running, RequestStop, stopping, stop),
			tr(running, RequestRestart, restarting, stop),
			tr(running, ObservedRuntimeError, failed, "record_failure(what=runtime)").when("!restart_pending"),
			tr(running, ObservedRuntimeError, restarting, "record_failure(what=runtime)").when("restart_pending"),
			tr(running, ObservedStopped, failed, "record_failure(what=runtime)").when("!restart_pending"),
			tr(running, ObservedStopped, restarting, "record_failure(what=runtime)").when("restart_pending"),

			tr(stopping, ObservedStopped, stopped),
			tr(stopping, ObservedStopFailed, failed, "record_failure(what=stop)"),

			// A requested restart stops the process, then starts it; a
			// restart by policy is the supervisor's, which reports the new
			// process ready or failing.
			tr(restarting, ObservedStopped, starting, start),
			tr(restarting, ObservedStopFailed, failed, "record_failure(what=stop)"),
			tr(restarting, ObservedInitialized, running, "clear_failure"),
			tr(restarting, ObservedInitializationFailed, restarting, "record_failure(what=initialization)").when("restart_pending"),
			tr(restarting, ObservedInitializationFailed, failed, "record_failure(what=initialization)").when("!restart_pending"),
			tr(restarting, RequestStop, stopping, stop),

			tr(failed, RequestReset, stopped, kill, "clear_failure"),

			// A running service reports its own state; it counts while the
			// service stays in Running (see Code).
			tr(running, ObservedSelfState, running, "record_report"),
		},
	}
	for _, st := range m.States {
		m.Transitions = append(m.Transitions, tr(st.Name, ObservedControlUnsupported, st.Name, "record_unsupported"))
	}
	if cfg.StartTimeout > 0 {
		m.Transitions = append(m.Transitions, tr(starting, TriggerTimeout, failed, "record_failure(what=start)", kill))
	}
	if cfg.StopTimeout > 0 {
		m.Transitions = append(m.Transitions,
			tr(stopping, TriggerTimeout, failed, "record_failure(what=stop)", kill),
			tr(restarting, TriggerTimeout, failed, "record_failure(what=stop)", kill))
	}
	return m
}

func tr(from, trigger, to string, effects ...string) Transition {
	return Transition{From: from, Trigger: trigger, To: to, Effects: effects}
}

func (t Transition) when(guards ...string) Transition {
	t.Guards = guards
	return t
}

func alert(reason string) string { return "alert(reason=" + reason + ")" }
