// Package memlog is the in-memory twin of the durable event log. It keeps
// the same contract as events/badger (the shared suite in events/eventstest
// proves it) and adds what tests and the simulation need from a disk that
// misbehaves:
//
//   - Crash drops everything not yet acknowledged and closes the log;
//     Reopen returns a log with exactly the acknowledged events.
//   - Inject makes the next appends fail as a full disk (ENOSPC) or a failed
//     fsync would: the append is not acknowledged and, as on a real disk,
//     the log then refuses appends until reopened.
//   - Corrupt and Truncate damage a stored record, so readers see the same
//     typed errors a damaged Badger record gives.
//
// Records are kept encoded, so decoding and its errors are real.
package memlog
