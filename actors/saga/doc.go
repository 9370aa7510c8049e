// Package saga runs multi-step operations as sagas with a durable log, so
// that a crash in the middle of one always ends in a state the log explains.
//
// A saga is an id and a Plan: an ordered list of Steps, each a Command to
// one target (a component or a device) with an optional compensation, a
// timeout and a retry policy. Commands are data (action, target, params),
// so a plan read back from the log after a restart can be executed again by
// an Executor that knows nothing of the process that wrote it.
//
// # The log
//
// A saga writes stream "saga.<id>" and nothing else writes it; every append
// expects the version the engine last read and carries a deterministic
// idempotency key, so a second engine working on the same saga fails rather
// than interleaves. The records:
//
//	saga_started{plan}           before anything is sent
//	step_issued{i, cmd_id}       BEFORE the command is sent; cmd_id = <id>/<i>;
//	                             with it the step's compensation is registered
//	step_succeeded{i}            the target confirmed the command
//	step_unknown{i, attempt}     the command timed out or the target did not
//	                             answer: the outcome is unknown, never "failed"
//	step_failed{i, reason}       the target refused, or retries were spent
//	step_skipped{i}              an escalation ladder ended early (see Step.Escalate)
//	compensating{from, reason}   compensation starts
//	comp_issued{j, attempt}      before the undo <id>/<j>/undo is sent
//	comp_done{j}                 the undo succeeded
//	saga_completed | saga_compensated{outcome} | saga_failed{alert} | saga_superseded{by}
//
// Stream "sagas" indexes saga_opened{id} and saga_closed{id, outcome}, so
// that Unfinished finds the sagas to recover without scanning the log.
//
// # Semantics
//
//   - A timeout means the outcome is unknown: the engine asks the target
//     (Executor.Query) before deciding, and re-sends the same cmd_id if the
//     command did not apply; targets drop duplicates by cmd_id.
//   - Compensations run in reverse order over every issued step, including
//     the one that failed (it may have partly applied). They must be
//     idempotent and tolerate a step that never applied. They are retried
//     with capped exponential backoff until they succeed, or the saga is
//     parked: saga_failed with an alert.
//   - A step without a compensation is irreversible; a saga that had to
//     compensate past one ends failed, with an alert, never "compensated".
//     A step its target refused at the first attempt (Permanent) applied
//     nothing and counts as no such step: a saga refused before anything
//     applied or was undone ends failed without an alert.
//   - An escalation ladder is a run of steps with Escalate set: a failing
//     rung moves on to the next, a succeeding rung skips the rest.
//   - Superseding (cancelling the saga's context with ErrSuperseded as the
//     cause) stops the saga between records and ends it superseded; the
//     superseding operation owns the targets from then on. Any other
//     cancellation (shutdown) leaves the saga unfinished for recovery.
//   - Recovery (Engine.Resume) folds the log (Fold, pure) and continues:
//     a step issued without an outcome is queried first; a compensation
//     issued without comp_done is re-sent.
//
// Time comes only from the injected clock, through Engine.Sleep.
package saga
