// Package protoactor runs statemgr's components as protoactor-go actors:
// one actor per component, named by its component id, under a supervisor of
// ours.
//
// Contract:
//
//   - An actor recovers (newest good snapshot + the records after it)
//     inside its Started handler, so it handles no message before its state
//     is the logged state. A new component's first record is its creation.
//   - Every accepted input is appended to the event log, expecting the
//     stream version the actor last wrote, before the actor replies or hands
//     effects to the Effector. A version conflict means another writer (a
//     stale incarnation) exists; the actor panics and recovers from the log.
//   - Config.OnChange hears the component's status (with its state's
//     kind and the kinds of its standing alerts, machine.AlertKindOf their
//     keys) after recovery, after each append and when an alert clears:
//     never a status not yet durable. The LEDs and the daemon's
//     standing-alert metrics follow it.
//   - Who performs an effect is decided here, and only here: the actor
//     hands to the Effector the effects whose machine.Effect.PerformedBy is
//     machine.PerformedByEffector. Those of the coordinator's saga steps
//     (Input.PerformedBy = PerformedByCoordinator, recorded in their
//     events and kept for the timeouts of the state they lead into) are
//     performed by the coordinator through its Hardware, and an Effector
//     performs everything it is given.
//   - A retried request (same operation id) gets the first outcome, from
//     the actor's memory of recent operations, rebuilt on recovery; another
//     request under the id is a *ConflictError. A request the machine
//     rejects under an operation id with Input.RecordRejection is recorded (machine.EventRejected) and
//     answered with a *RefusedError: a retry gets the same rejection with
//     Duplicate set, whatever the machine would say now.
//   - A panic restarts the actor after a capped exponential backoff with
//     jitter (Backoff); past the restart budget the failure is escalated to
//     Config.OnEscalate and restarts continue at the cap, so a component is
//     never left without an owner.
//   - Its actor system comes from actors/actorsys (NewActorSystem), and
//     every component actor logs its panics with their stacks (LogPanics).
//   - Time comes from Config.Clock. Timeouts and alert checks arm clock
//     timers; System.Tick delivers a tick synchronously for tests and the
//     simulation on a virtual clock.
package protoactor
