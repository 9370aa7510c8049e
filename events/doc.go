// Package events defines statemgr's memory: an append-only, totally ordered
// log of events, each belonging to one stream (a component such as "host.0",
// or a saga such as "saga.7f3a").
//
// The state of the system is what replaying the log yields. Every state
// transition of every component is appended here before anyone is told
// about it: before a reply, a NATS publication or a hardware write.
//
// This package holds the domain types and the contract; implementations live
// in subpackages named after their dependency:
//
//   - events/badger: the durable log on Badger (SyncWrites on, group commit).
//   - events/memlog: the in-memory twin with fault injection and Crash, used
//     by tests and the simulation.
//   - events/eventstest: the contract suite both must pass.
//
// # The contract
//
//  1. Append is atomic per batch: every event of the batch is stored, with
//     consecutive stream and global sequences, or none is.
//  2. Append returns only after the batch is durable. An append whose sync
//     failed returns an error and is never acknowledged; after an I/O failure
//     the log refuses further appends (ErrLogFailed) until it is reopened,
//     because what reached the disk is then unknown.
//  3. Sequences start at 1 and have no gaps, per stream and globally.
//  4. An expected stream version gives optimistic concurrency: a mismatch is
//     a *VersionError and nothing is written.
//  5. An event with an idempotency key already stored in its stream is not
//     stored again; the append returns the events first stored.
//  6. Subscribe replays from a global sequence and then follows the live log
//     with no gap and no duplicate between the two parts.
//  7. Bad data (a corrupt or truncated record, an unknown codec or schema
//     version) is a typed error naming the record, never a panic and never a
//     silently skipped event.
//
// # Your responsibilities as an appender
//
//  1. Give each event a Type, a Schema version for its payload and a Time from
//     your injected clock; the log assigns the sequences.
//  2. Use ExpectVersion with the head you last saw, so that two writers for one
//     stream cannot both succeed.
//  3. Derive idempotency keys deterministically from the request (operation id,
//     saga step), so a retried request is stored once.
//  4. Act on an event only after Append has returned it.
package events
