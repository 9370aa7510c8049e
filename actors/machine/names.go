package machine

// Machine kinds of the built-in machines.
const (
	KindHost    = "host"
	KindChassis = "chassis"
	KindBMC     = "bmc"
	KindService = "service"
)

// State names of the built-in machines, spelled as OpenBMC's
// phosphor-dbus-interfaces spell them where a PDI state exists.
const (
	StateOff                    = "Off"
	StateTransitioningToRunning = "TransitioningToRunning"
	StateRunning                = "Running"
	StateTransitioningToOff     = "TransitioningToOff"
	StateQuiesced               = "Quiesced"
	StateDiagnosticMode         = "DiagnosticMode"
	StateError                  = "Error"
	StateTransitioningToOn      = "TransitioningToOn"
	StateOn                     = "On"
	StatePowerCycling           = "PowerCycling"
	StateNotReady               = "NotReady"
	StateReady                  = "Ready"
	StateMaintenance            = "Maintenance"
	StateUpdateInProgress       = "UpdateInProgress"
	StateRebooting              = "Rebooting"
	StateStopped                = "Stopped"
	StateStarting               = "Starting"
	StateStopping               = "Stopping"
	StateRestarting             = "Restarting"
)

// Request triggers: PascalCase, named exactly like Redfish ResetType values
// where one exists, so a client's ResetType is the trigger as is.
const (
	RequestOn               = "On"
	RequestForceOn          = "ForceOn"
	RequestGracefulShutdown = "GracefulShutdown"
	RequestForceOff         = "ForceOff"
	RequestGracefulRestart  = "GracefulRestart"
	RequestForceRestart     = "ForceRestart"
	RequestPowerCycle       = "PowerCycle"
	RequestNmi              = "Nmi"
	RequestPushPowerButton  = "PushPowerButton"
	RequestOff              = "Off"
	RequestEnterMaintenance = "EnterMaintenance"
	RequestExitMaintenance  = "ExitMaintenance"
	RequestStart            = "Start"
	RequestStop             = "Stop"
	RequestRestart          = "Restart"
	RequestReset            = "Reset"
)

// Observation triggers: snake_case facts reported by hardware adapters or
// supervisors, never by clients.
const (
	ObservedPowerGoodAsserted   = "power_good_asserted"
	ObservedPowerGoodDeasserted = "power_good_deasserted"
	ObservedPostComplete        = "post_complete"
	ObservedBootProgress        = "boot_progress" // Input.Value is the stage
	ObservedOSShutdown          = "os_shutdown"
	ObservedWatchdogExpired     = "watchdog_expired"
	ObservedHostCrash           = "host_crash"
	// ObservedChassisPowerLost: the host's chassis lost power without a
	// request (an AC loss): whatever the host was doing, it is off.
	ObservedChassisPowerLost      = "chassis_power_lost"
	ObservedPowerStatus           = "power_status" // Input.Value is the status
	ObservedBooted                = "booted"       // Input.Value is the reboot cause
	ObservedServicesReady         = "services_ready"
	ObservedCriticalServiceFailed = "critical_service_failed"
	ObservedUpdateStarted         = "update_started"
	ObservedUpdateFinished        = "update_finished"
	ObservedUpdateFailed          = "update_failed"
	ObservedInitialized           = "initialized"
	ObservedInitializationFailed  = "initialization_failed"
	ObservedRuntimeError          = "runtime_error"
	ObservedStopFailed            = "stop_failed"
	ObservedStopped               = "stopped"
	// ObservedSelfState is a running service's report about itself:
	// Input.Value is ENABLED, DISABLED or ERROR and Input.Cause its
	// extended status (for ERROR: what failed and how to resolve it).
	ObservedSelfState = "self_state"
	// ObservedControlUnsupported records that a service did not answer an
	// enable or disable forwarded to it; Input.Value is the action.
	ObservedControlUnsupported = "control_unsupported"
)

// TriggerTimeout is the trigger of the transition Step takes when a state's
// Timeout passes. A machine may declare a transition with this trigger from
// a state with a Timeout to attach effects to the timeout; its To must be
// the state's TimeoutTo and it may have no guards.
const TriggerTimeout = "timeout"

// Boot progress stages (PDI State.Boot.Progress), kept in Status.BootProgress.
const (
	BootProgressUnspecified        = "Unspecified"
	BootProgressPrimaryProcInit    = "PrimaryProcInit"
	BootProgressBusInit            = "BusInit"
	BootProgressMemoryInit         = "MemoryInit"
	BootProgressSecondaryProcInit  = "SecondaryProcInit"
	BootProgressPCIInit            = "PCIInit"
	BootProgressSystemInitComplete = "SystemInitComplete"
	BootProgressOSStart            = "OSStart"
	BootProgressOSRunning          = "OSRunning"
	BootProgressSystemSetup        = "SystemSetup"
	BootProgressMotherboardInit    = "MotherboardInit"
	BootProgressOEM                = "OEM"
)

// Chassis power statuses (PDI State.Chassis.PowerStatus), kept in
// Status.PowerStatus.
const (
	PowerStatusUndefined                  = "Undefined"
	PowerStatusBrownOut                   = "BrownOut"
	PowerStatusUninterruptiblePowerSupply = "UninterruptiblePowerSupply"
	PowerStatusGood                       = "Good"
)

// BMC reboot causes (PDI State.BMC.RebootCause), kept in
// Status.LastRebootCause.
const (
	RebootCausePOR          = "POR"
	RebootCausePinholeReset = "PinholeReset"
	RebootCauseWatchdog     = "Watchdog"
	RebootCauseSoftware     = "Software"
	RebootCauseUnknown      = "Unknown"
)

var (
	bootProgressStages = setOf(BootProgressUnspecified, BootProgressPrimaryProcInit, BootProgressBusInit,
		BootProgressMemoryInit, BootProgressSecondaryProcInit, BootProgressPCIInit,
		BootProgressSystemInitComplete, BootProgressOSStart, BootProgressOSRunning,
		BootProgressSystemSetup, BootProgressMotherboardInit, BootProgressOEM)
	powerStatuses = setOf(PowerStatusUndefined, PowerStatusBrownOut,
		PowerStatusUninterruptiblePowerSupply, PowerStatusGood)
	rebootCauses = setOf(RebootCausePOR, RebootCausePinholeReset, RebootCauseWatchdog,
		RebootCauseSoftware, RebootCauseUnknown)
	reportCodes    = setOf(string(CodeEnabled), string(CodeDisabled), string(CodeError))
	controlActions = setOf("enable", "disable")
)

func setOf(names ...string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}
