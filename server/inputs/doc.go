// Package inputs keeps what other BMC services report to statemgr over
// NATS: thermal zones judged by a thermal manager and sensor health from a
// sensor monitor, each declared by an "input" block of the platform file
// (platform.Input). The server (package server) decodes the reports from
// statemgr.input.thermal.<name> and statemgr.input.health.<name> and hands
// them to a Store; the coordinator reads the Store as its
// coordinator.Inputs when it admits a power-on (the thermal and health
// interlocks) and when it reconciles (thermal emergencies), exactly as it
// reads the board's own thermal zones and PSUs.
//
// Contract:
//
//  1. A report names an input the platform file declares, or is refused
//     with ErrUnknownInput; a report whose values are out of range or
//     missing is refused with ErrBadReport. Both are wrapped with what was
//     wrong and what to send instead. Nothing is kept of a refused report.
//  2. A thermal report carries "celsius", "level" or both; its level is
//     the worse of the level reported and the level its Celsius reading has
//     against the block's warning and critical limits, so a service that
//     understates a reading is not believed. A health report carries its
//     level (ok, warning, critical).
//  3. Time is an input (the Store's clock): a report stays true for its
//     block's stale_after; an input with no report for longer, or none
//     since the Store was made, is unknown, and blocks power-ons of its
//     hosts where the block says unknown_blocks_power_on.
//  4. When a thermal input's level becomes critical, the Store calls its
//     OnCritical hook (the assembly starts the coordinator's thermal
//     emergency there) outside its lock; the coordinator's reconciliation
//     also finds every input still critical.
//  5. Memory is bounded by the platform file: one last report per declared
//     input, with text fields of at most MaxText bytes.
package inputs
