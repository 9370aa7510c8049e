// Package devices puts the platform's hardware behind actors and wires it
// to the components that own it: it performs the components' effects on
// the devices, turns what the devices show into observations for the
// components, and reconciles the event log with the hardware at startup and
// while running.
//
// # Construction
//
// New opens every device the platform file describes, each with its
// back-end: a PSU whose backend is smbus through adapters/smbus
// (/dev/i2c-<bus>), hwmon through adapters/hwmon (the kernel pmbus driver's
// files), sim through the simulated platform; a thermal sensor through
// hwmon, a PSU's READ_TEMPERATURE_1, or the simulated platform. The
// platform file has no back-end for GPIO, so the rule is: the hosts' lines
// are simulated when every PSU of the platform is sim (a simulated board),
// and come from the GPIO character device (adapters/gpiocdev) otherwise.
// Every sim back-end uses Config.Sim, or, when it is nil, a simulated
// platform built from SimConfig (same PSU, host and line names) that the
// Hardware closes on Close. A device that cannot be opened (a line another
// process holds, a bus that does not exist) fails New with an *Error
// naming it — "host 1 power_good (PS_PWROK_1): request input line: ..." —
// wrapping the adapters sentinel, whose text says what to do.
//
// # Actors
//
// Each device has one protoactor actor under the supervisor "devices",
// with a stable name: "devices/psu.<chassis>.<psu>" per PSU,
// "devices/chassis.<name>" per chassis (power sequencing and the
// aggregation of its PSUs), "devices/host.<name>" per host's GPIO set and
// "devices/zone.<name>" per thermal zone. New returns once every actor
// has started (actorsys.StartSupervised); an actor that panics while
// starting, or has not started within Config.StartTimeout (real time),
// fails New with an *Error naming it (Op "start its actor") wrapping
// actorsys.ErrActorPanicked or actorsys.ErrStartTimeout, and every
// actor panic is logged with its stack. An actor performs its device's
// operations one at a time. Every hardware call has a timeout
// (Config.CallTimeout) and is retried on a transient fault (a NAK or a bus
// timeout, adapters.IsTransient) with a doubling wait, up to
// Config.Retry.Attempts calls; all waiting (timeouts, backoff, pulses, PSU
// ramps, polls) goes through the injected clock. A retry that succeeds is
// logged; exhausted retries fail with ErrRetriesExhausted. Actors never
// wait for a component: observations are queued, in order, and handed to
// the Observer (Observe is System.Request in the daemon) by one goroutine
// started by Run.
//
// # Effects (Perform, the components' Effector)
//
// Perform returns at once; the device actor does the work.
//
//	effect                                 operation
//	press_power_button(duration[, delay])  wait delay, pulse POWER_OUT for duration (default timeouts.power_pulse)
//	hold_power_button(duration)            pulse POWER_OUT for duration (default timeouts.force_off_hold)
//	pulse_reset(duration)                  pulse RESET_OUT for duration (default timeouts.reset_pulse)
//	nmi                                    pulse NMI_OUT for Config.NMIPulse
//	sequence_power_on([delay])             wait delay; per PSU in sequence order: CLEAR_FAULTS, OPERATION=ON,
//	                                       wait for power good (Config.PSUTimeout, failing early on a fault)
//	sequence_power_off                     per PSU in reverse order: OPERATION=SOFT OFF, wait for power good to drop
//	reboot_bmc([force])                    Config.RebootBMC
//	alert                                  nothing: not hardware
//
// A pulse is asserted, timed on the clock and deasserted by the Hardware,
// and deasserted even when cut short. A new sequence supersedes one in
// progress. Any other effect, an effect for a component with no device, a
// line the platform does not wire (ErrNotWired) or a failed operation is
// logged as an error and reported to the component as an effect_failed
// observation whose cause names the effect, the device and the reason.
//
// # Observations
//
//	device event                                       component  observation (cause)
//	PS_PWROK asserted / deasserted (edge)              host       power_good_asserted / power_good_deasserted
//	                                                              ("... after <effect>", "... after a front-panel
//	                                                              power button press (outside statemgr)",
//	                                                              "... with no request from statemgr")
//	POST_COMPLETE asserted while powered               host       post_complete
//	front-panel power/reset/NMI/id button pressed      host       button_pressed; still asserted after the
//	                                                              force-off hold: button_stuck
//	power-on / power-off sequence complete             chassis    power_good_asserted / power_good_deasserted
//	fewer PSUs with power good than required (poll)    chassis    power_good_deasserted ("chassis power good lost")
//	PSU input good on fewer PSUs than required (poll)  chassis    power_status, Value BrownOut (Good when back)
//	new STATUS_* fault or warning bits (poll)          chassis    psu_fault (the decoded STATUS registers)
//	PSU not answering, retries included                chassis    psu_unreachable
//	thermal zone level change (poll)                   —          Config.OnThermal and the log
//
// button_pressed, button_stuck, psu_fault, psu_unreachable and
// effect_failed have no transition in the built-in machines: each is
// recorded as an ignored observation, durable evidence in the component's
// log (a platform file may extend a machine to act on them). No machine
// has a thermal observation, so thermal levels go to Config.OnThermal for
// the coordinator. Chassis power good and power status count
// Config.PSUsRequired PSUs (default 1, N+1 redundancy).
//
// # Calls (the coordinator's hardware)
//
// Hardware also offers the narrow calls the coordinator's sagas drive and
// time themselves (server/assembly.Board makes them a coordinator.Hardware):
// PSUOn, PSUOff (OPERATION IMMEDIATE OFF), PSUStatus (the decoded STATUS_*
// registers; which flags count as faults is the assembly's judgement),
// PSUClearFaults by PSU name, HostPowerGood and SetPowerButton, SetReset,
// SetNMI by host name, and Temperature (the hottest readable sensor) by
// zone name. Each call is a message to the
// device's actor, which stays the only user of its bus or lines and
// performs the call like its own (call timeout, retries on the clock); the
// caller waits for the answer or until its context ends, and the actor
// drops a call nobody waits for any more. An unknown name fails with an
// *Error wrapping ErrUnknownDevice that lists the names there are; any call
// after Close fails with ErrClosed. A line the coordinator asserts is
// remembered like a pulse, so the power good edge that follows is reported
// "after power button asserted by the coordinator". These calls need no
// Run; without it, though, observations (edges the coordinator causes
// included) are only queued.
//
// This package imports, of actors/, only actors, actors/machine,
// actors/clock and actors/actorsys (see package adapters): it knows no
// component shell and no coordinator.
//
// # Reconciliation
//
// Reconcile, called at startup before any request is accepted, reads the
// hardware (each host's PS_PWROK and POST_COMPLETE, each PSU's status) and
// compares it with each component's recovered status. It never assumes
// "Off": every difference is sent to the component as the observation the
// hardware justifies, with the evidence in Input.Cause ("reconciliation at
// startup: PS_PWROK asserted while the log says Off"), and returned as a
// Drift. A host is expected powered in Running, Quiesced, DiagnosticMode
// and TransitioningToOff and unpowered in Off and TransitioningToRunning,
// where a transitional state contradicts only the level it waits for being
// there already; Error contradicts any level, since only the hardware
// knows where an errored host stands. The chassis is compared the same way
// (Off and TransitioningToOn against On, TransitioningToOff and
// PowerCycling), and PSU faults and a power status that differs from the
// log are reported too. A PSU that does not answer (absent at boot,
// unpowered, or not at the platform file's bus and address: New opens a
// bus without probing it) fails neither New nor Reconcile: its Drift
// carries an *UnreachablePSU naming the PSU, its chassis, back-end, bus
// and address and wrapping the read's error, and the chassis records
// psu_unreachable (the assembly logs it as the startup report; the
// coordinator refuses power-ons). A power-on that a BMC restart
// interrupted is left to the machine's timeout.
//
// Run starts the running reconciler: edges are reported as they come, and
// every Config.ReconcileInterval (default 10 s) the components' statuses
// (Observer.Status) are compared with the hardware again, the cause then
// saying "periodic reconciliation". An edge arriving during such a pass
// may be reported twice; the component records the second as an ignored
// observation.
//
// The PSUs' status and the thermal zones are polled (they raise no event)
// every Platform.Polls.PSU and Platform.Polls.Thermal (the platform file's
// polls block), or every Config.PollInterval when that is set.
//
// # Time
//
// Settle waits until the hardware layer has nothing left to do but wait
// for a future clock deadline, so that a driver of a virtual clock (tests,
// the simulation) can move time deterministically: move the clock to the
// next deadline, tick the components, Settle. With a coordinator on top,
// server/assembly.SettleWith waits until both are idle at once, comparing
// Activity across passes: a coordinator call into the Hardware is handed
// to the devices' own count for its duration (clock.HandOff), and a wait
// bounded by a timeout on the clock (clock.WithTimeout) counts as busy
// again from that timeout.
package devices
