// Package simhw is the simulated platform: a behavioural model of a BMC's
// board that implements the adapters interfaces (adapters.GPIO,
// adapters.PMBus, adapters.ThermalSensor), so statemgr runs unchanged
// against it. It is the default when no hardware is configured, and the
// ground under tests and the whole-system simulation.
//
// # What it models
//
// One chassis with PMBus PSUs, hosts powered from it, and thermal zones
// (DefaultConfig: two PSUs "psu0" and "psu1", either of which powers the
// chassis; hosts "0" and "1"; zones "zone0" and "zone1").
//
//   - PSUs, at the level of SMBus transactions with the real command codes.
//     OPERATION=ON ramps the output to power good after PowerOnDelay
//     (STATUS_WORD OFF clears at once, POWER_GOOD# when good); IMMEDIATE
//     OFF drops it at once, SOFT OFF after SoftOffDelay. STATUS_BYTE/WORD
//     and STATUS_VOUT/IOUT/INPUT/TEMPERATURE/CML follow the output and
//     latch faults until CLEAR_FAULTS, after which a fault whose cause is
//     still present latches again. READ_VIN/IIN/IOUT/TEMPERATURE_1/POUT/PIN
//     are LINEAR11 and READ_VOUT LINEAR16 with VOUT_MODE's exponent (default
//     0x17, -9); the output power is the chassis load (ChassisWatts plus
//     every powered host's Watts) shared by the PSUs with power good.
//     MFR_ID/MODEL/SERIAL are SMBus block reads. A command or transaction
//     type the PSU does not have sets STATUS_CML and fails with
//     adapters.ErrUnsupported; bad data sets STATUS_CML and fails with
//     ErrInvalidData (which also matches adapters.ErrUnsupported).
//   - Hosts, behind GPIO lines with the x86-power-control names and
//     polarities (host "0": outputs POWER_OUT, RESET_OUT, NMI_OUT; inputs
//     PS_PWROK, POST_COMPLETE, POWER_BUTTON; other hosts add "_<id>"). A
//     power-button press (POWER_OUT asserted, or the front panel pressed)
//     of at least MinPress and under ForceOffHold turns an off host on
//     after PowerOnDelay if the chassis has power, or makes a running OS
//     shut down, which takes ShutdownDelay. Holding the button for
//     ForceOffHold turns the host off at once, at that moment. A reset
//     pulse drops POST_COMPLETE while RESET_OUT is asserted and boots the
//     host again on release; POST_COMPLETE rises BootDelay after power good
//     or after a reset. NMI pulses to a powered host are counted. Losing
//     chassis power drops every host at once. A consumer requesting a line
//     with a polarity other than the board's sees it inverted.
//   - Thermal zones: a first-order model relaxing with TimeConstant towards
//     AmbientC plus DegreesPerWatt times the load of the zone's powered
//     hosts.
//
// # Time and determinism
//
// All time comes from the injected clock.Clock. The model keeps its own
// queue of pending state changes, each with a deadline; every call first
// catches the model up to clock.Now(), processing the due changes in
// deadline order (ties in the order they were scheduled), each at its own
// deadline. So the state after moving a clock.Virtual with Advance or Set
// depends only on the sequence of calls and the clock readings they see,
// never on goroutine scheduling inside the model: same script, same
// observations. The thermal model
// is evaluated in closed form from the last change of its inputs, so
// reading it more or less often does not change the numbers.
//
// The model also keeps one clock timer armed for its earliest deadline,
// served by one goroutine that catches the model up when it fires. That is
// what delivers edges when nobody calls in, and it makes the model's next
// deadline visible to a driver stepping a virtual clock with NextDeadline.
// That goroutine reacts after Advance or Set has returned, so a driver that
// steps from deadline to deadline calls Settle (or any method) after each
// step, before asking for the next deadline.
//
// # Concurrency and edges
//
// A Platform and its handles are safe for concurrent use; one mutex guards
// the model. Each GPIO handle delivers the edges of its input lines on a
// goroutine of its own, in the order the model produced them, with no lock
// held, so a callback may call back into the platform (read lines, drive
// outputs, read PSUs). Edge.Time is the model time of the change. Settle
// catches up with the clock and waits until every queued edge has been
// handled; tests call it after moving the clock. Settle and Platform.Close
// must not be called from a callback.
//
// OutputLine.Pulse and a bus timeout with a Wait block on the clock: with a
// virtual clock another goroutine must move it.
//
// # Faults
//
// Inject and Clear switch the faults of the catalogue (see FaultKind) on
// and off, before or while running; Faults lists those active. Each is
// observed through the same interfaces statemgr uses:
//
//   - host: power good never rises; power good drops while on; the OS
//     ignores graceful shutdown; the power button stuck asserted or stuck
//     deasserted;
//   - PSU: VIN_UV, VOUT_OV, IOUT_OC, over-temperature (STATUS bits latch,
//     the output goes off as the part would), never reaching power good
//     (TON_MAX_FAULT);
//   - bus: NAK (adapters.ErrNAK) and bus timeout (adapters.ErrBusTimeout,
//     after waiting Fault.Wait on the clock, or at once when Wait is 0), for
//     the next Fault.Count transactions or until cleared;
//   - GPIO: a line held by another process (adapters.ErrLineBusy);
//   - thermal: runaway, climbing whatever the load.
//
// Errors through the adapters interfaces are *adapters.DeviceError values
// wrapping the adapters sentinels, as the hardware back-ends return; the
// platform's own API returns this package's sentinels wrapped with context.
//
// Ground truth for tests and the simulation: Host, HostPowered,
// ChassisPowerGood, PSU, Temperature, LoadWatts, Faults.
package simhw
