// Package machine holds statemgr's state machines as data and the pure
// interpreter that runs them.
//
// Every component actor (host, chassis, BMC, supervised service) owns one
// Status and feeds its inputs to Step. The machine itself is a *Machine:
// states, an initial state and transitions, with guards and effects named
// rather than coded. Keeping machines as data lets a platform file extend a
// built-in machine (Extend) and lets `statemgr validate` check it (Validate)
// and draw it (DOT) without compiling anything.
//
// Every state of a host or chassis machine says what power good reads in
// it (State.Power: on, off or any; a transitional state reads the level it
// leaves, Error any); Validate requires it there and refuses it on other
// kinds. Readers that need to know whether a component is powered (device
// reconciliation, the coordinator's admission and plans, the power LED)
// ask Compiled.Power or Power.Contradicts, never a list of state names.
//
// # The contract
//
// Step(c, status, input, now) returns the next status, the events to append
// and the effects to perform. It does no I/O, reads no clock and uses no
// randomness: the same arguments always give the same results, so replaying
// the event log rebuilds the same status and property tests can explore it.
//
// Time is an input. A state may have a Timeout; when now - Since reaches it,
// the next Step (a tick, or any other input) first moves the machine to the
// state's TimeoutTo, dated at the deadline, with cause
// "timeout in <state> after <d>". NextDeadline says when to send that tick.
//
// # Your responsibilities as the actor shell
//
//  1. Compile the machine once (Compile validates it) and start from
//     NewStatus or from a snapshot.
//  2. For each input, call Step and append the returned events before
//     anything else: Step's outputs are valid even when it returns an error
//     (a timeout may have come due), so persist them first, then reply with
//     the error if any.
//  3. Perform the effects only after the events are durable, in order. Each
//     carries the input's operation id so its outcome can be correlated,
//     and its performer (Effect.PerformedBy, recorded in the events too):
//     hand to the effector only those with PerformedByEffector; the others
//     are the business of whoever sent the input (the coordinator, which
//     drives the hardware of its saga steps itself).
//  4. Schedule a tick at NextDeadline, and run CheckAlerts at
//     NextAlertCheck (and after each transition), appending alerts whose
//     Key is new.
//  5. Publish Allowed with the status so clients see what they may request.
//
// # Naming
//
// State names are PDI's where PDI has the state (Off, TransitioningToRunning,
// Running, TransitioningToOff, Quiesced, DiagnosticMode; chassis Off,
// TransitioningToOn, On, TransitioningToOff; BMC NotReady, Ready,
// UpdateInProgress, Quiesced), plus Error, PowerCycling, Maintenance,
// Rebooting and the service states. Transitional states are always
// published as they are: clients never have to guess "powering off" from
// requested versus current.
//
// Triggers come in two spellings, and the spelling is the contract:
//
//   - Requests are PascalCase and come from clients. Host, chassis and BMC
//     requests are named exactly like Redfish ResetType values: host On,
//     ForceOn, GracefulShutdown, ForceOff, GracefulRestart, ForceRestart,
//     PowerCycle, Nmi, PushPowerButton; chassis On, Off, PowerCycle; BMC
//     GracefulRestart, ForceRestart, plus EnterMaintenance and
//     ExitMaintenance. Service requests are Start, Stop, Restart and Reset.
//   - Observations are snake_case and come from hardware adapters and
//     supervisors: power_good_asserted, power_good_deasserted, post_complete,
//     boot_progress, os_shutdown, watchdog_expired, host_crash, power_status,
//     booted, services_ready, critical_service_failed, update_started,
//     update_finished, update_failed; for services initialized,
//     initialization_failed, runtime_error, stop_failed, stopped.
//   - "timeout" is reserved for timeouts; an observation cannot carry it.
//
// Step refuses a request spelled like an observation, so a client cannot
// claim that power good rose.
//
// # Requests versus observations
//
// A request that no transition accepts is a *RejectedError naming the
// current state, the allowed requests and a hint; the shell records one
// made under an operation id as an EventRejected event (RejectedError.Event),
// from which Compiled.Rejection rebuilds it for a retry. An observation that no
// transition accepts is not an error (the hardware did what it did); Step
// returns an EventIgnored event so the disagreement is on record.
//
// # Guards, effects and facts
//
// Guards are named predicates over the status and the input, such as
// restart_requested or power_status_good; "!name" negates one. Facts are
// booleans the caller supplies with the input (chassis_on, bmc_ready,
// hosts_off, firmware_update_in_progress, auto_reboot, bmc_reset_available);
// an absent fact is false. A capability guard (bmc_reset_available: the
// platform can reset the BMC) says what the platform can do at all: a
// request it blocks is refused with RejectedError.Capability set, since
// retrying cannot help, and is never in Allowed without the fact. Effects are named actions with parameters written in the machine,
// "hold_power_button(duration=4s)". Status effects (record_boot_progress,
// whose stage ParseBootProgress reads from OpenBMC's or Redfish's names,
// reset_boot_progress, record_power_status, record_reboot_cause,
// record_failure, clear_failure) are applied by Step; the others
// (press_power_button, hold_power_button, pulse_reset, nmi,
// sequence_power_on, sequence_power_off, reboot_bmc, start_process,
// stop_process, alert) are returned for the shell. An alert effect is also
// logged as an EventAlert. Unknown guard or effect names fail validation.
//
// # Escalation
//
// A host whose graceful shutdown times out does not go back to Running, as
// x86-power-control does: the timeout holds the power button (the ACPI
// override) and enters Error with an alert, and power good dropping then
// brings it to Off.
package machine
