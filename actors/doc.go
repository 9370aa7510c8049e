// Package actors holds the domain of statemgr's components: their ids, the
// record each transition leaves in the event log, and what can be read back
// from it (history, statistics, and the check that a log holds only
// transitions its machine allows).
//
// Every host, chassis, BMC and supervised service is a component: one
// actor (actors/protoactor) owning one declarative state machine
// (actors/machine). The actor is the only writer of its component's stream;
// everyone else sends it messages.
//
// # The life of a request
//
//  1. A request or observation reaches the component's actor.
//  2. The actor runs the machine's pure Step on its status.
//  3. It appends the resulting records to its stream, expecting the version
//     it last wrote, with the operation id as idempotency key.
//  4. Only then does it hand the effects (press the power
//     button, start a process) to their performer. Subscribers of the log
//     see the records as soon as they are durable.
//
// Recovery is the newest good snapshot plus the records after it; the actor
// handles nothing until it has recovered. For a supervised service, whose
// process died or outlived the daemon that ran it, ResumeService decides
// what a starting daemon records, from the recovered status and what the
// startup cleanup knows of that process (Leftover: still being stopped,
// gone, or unkillable, with its evidence).
//
// # Import rule
//
// The domain knows no hardware and no API: production code under actors/
// imports nothing of server/ or cmd/, and of adapters/ only
// adapters/platform (the platform file's types coordinator.TopologyOf
// reads). The coordinator declares the Hardware it drives and the
// components it asks; server/assembly supplies them. adapters/ may import
// actors, actors/machine, actors/clock and actors/actorsys, nothing else of
// actors/. cmd/imports_test.go checks both rules.
package actors
