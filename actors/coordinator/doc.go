// Package coordinator runs statemgr's multi-component operations as sagas
// (package saga), so that a crash in the middle of one always ends in a
// state the log explains, and enforces what no single component actor can:
// cross-component invariants, interlocks, emergencies, conflicts between
// requests and the power-restore policy.
//
// # Why a goroutine-owned loop, not a protoactor actor
//
// The coordinator's state (operations, component locks, the queue, the
// boot-attempt budget, pending power-restore decisions) is owned by one
// goroutine and changed only by closures sent to its mailbox, so it has
// the actor model's single-writer guarantee. It is not a protoactor actor
// because its sagas block: they wait for hardware on the clock and call
// the component actors synchronously, and a protoactor actor must never
// block on a request to another actor (pitfall 10). Each saga runs on its
// own goroutine and reports to the loop through the mailbox. Nothing of
// the loop's state needs a snapshot: it is rebuilt from stream
// "coordinator" and the saga streams at Start.
//
// # Operations
//
// Every request gets an operation id ("op-NNNNNN") and exactly one outcome
// (saga.Succeeded, Failed, Compensated, TimedOut, Superseded, Rejected,
// Abandoned after a restore),
// recorded in stream "coordinator" with the state its target was left in
// (Result.State). A refusal is a typed error:
// *InterlockError (naming the interlock and what clears it),
// *OverrideError, *BusyError (naming the operation in flight) and
// *HostsNotOffError (listing the hosts), *PoweredHostError and
// *UnreadableError (the components or hardware could not be read). A
// request with an idempotency key already seen gets the first request's
// operation.
//
// Admission runs its checks in one order (refusals): the read, an
// emergency in flight, the request already at its goal (a no-op, nothing
// else checked), a powered host that is not Running, the interlocks, the
// hosts not off, a conflict. Blockers runs the same list, reading nothing,
// for every request of every component, so the first blocker it lists is
// exactly the refusal the request would get now (BlockerOf describes a
// refusal the same way); it reads the components and the hardware at
// most once per BlockersMaxAge of the clock.
//
// Operations hold components: exclusively those they change, shared those
// they depend on (a host power-on holds its host, and its chassis and the
// BMC shared). A conflicting request is refused busy, or queued if it asks.
// The loop publishes what the operations hold (launched and queued)
// whenever that changes, before the caller that changed it goes on: Busy
// and Holds read it without the loop or the hardware, so a status can say
// on every read which requests would be refused busy.
// Host power-ons beyond Policy.MaxConcurrentPowerOns wait in the queue.
//
// Saga step commands carry operation id "<op>/<step>" (compensations
// "<op>/<step>/undo"), which component actors deduplicate. The coordinator
// performs the hardware side of its steps through Hardware (PSU sequence,
// power button, reset, NMI) and reports what it read back as observations,
// so every input it sends under a step's id says so
// (machine.Input.PerformedBy = PerformedByCoordinator): the component shell
// records the effects with that performer and hands them to no Effector.
// This direct road to the hardware stays because a saga compensates step
// by step what it did itself, and an emergency must power off even when
// the log fails (openbmc#2657).
//
// # Interlocks
//
// Power operations are refused while the BMC is in maintenance
// (maintenance) or updating (firmware_update); power-ons while the BMC is
// not Ready (bmc_not_ready), a zone is at or above its warning limit
// (thermal), input power is degraded or a PSU reports a fault (health),
// the host's chassis is not On under the reject policy (power_dependency)
// or a previous operation on the target is parked with an alert
// (blocking_error), or a PSU of the chassis does not answer on its bus
// (psu_unreachable, naming the PSU and its error). An operator may
// override the overridable ones by naming them in Request.Override; the
// override is logged with who asked. power_dependency, firmware_update
// and psu_unreachable cannot be overridden. An unreadable PSU refuses
// nothing else: power-off, force-off and emergencies never depend on
// reading a PSU (a chassis power-off still has to switch it off, and
// fails with an alert naming it when it cannot). A PSU that stops
// answering is also a standing alert of its own (PSUAlerts): Reconcile
// (and Start) read every PSU, and the first failed read records
// psu_unreachable in stream "coordinator", the first good one after it
// psu_answers, each durable before the alert shows or clears; replay
// keeps it across restarts.
//
// # Emergencies and power loss
//
// Emergency supersedes the operations on the affected components, then
// runs the policy's action hardware first (best-effort host steps, then
// the chassis PSUs off), so power-off happens even if the bookkeeping
// fails. Reconcile reads the hardware: an input loss on every PSU records
// a power loss with its evidence and the states last observed before it;
// the input's return applies the power-restore policy; every zone at or
// above its critical limit goes into one thermal emergency. Start applies
// the policy only on hardware evidence of an AC loss (latched PSU input
// faults, or no power good while the chassis was last observed On and no
// operation on it was left unfinished), never after a mere restart of the
// daemon or the BMC. It decides before it resumes the unfinished sagas,
// from the hardware as the daemon found it, and arms the schedules the
// policy makes only once the resumed sagas hold their components.
//
// # After a restore
//
// The first Start over a log restored from a checkpoint (its restore
// stream ends in a log_restored event no restore_settled record answers)
// never actuates on the restored history: unfinished sagas are closed
// saga.Abandoned (Engine.Abandon) and their operations finish abandoned
// (Abandoned lists them), the power-restore policy is not evaluated (an
// apr_decided record says why), and schedules already due are dropped;
// the startup reconciliation then records what the hardware shows as
// drift. RecRestoreSettled marks the restore dealt with, so a crash
// before it repeats the same decisions and a later Start is an ordinary
// one.
//
// # Virtual time
//
// The coordinator counts its units of work (sagas, schedules, callers
// that Hold it) for a driver of a virtual clock: Quiet returns once every
// unit waits on the clock for a time still ahead, is handed to the
// Hardware for a call (clock.HandOff; adapters/devices counts it then),
// or waits for a saga that is itself counted.
//
// # Files
//
// coordinator.go the actor, its inbox and admission (decide); blockers.go
// admission's ordered checks and what blocks each request now;
// request.go, claims.go the requests and what each holds; plans.go,
// exec.go the sagas' steps and their execution; recovery.go Start:
// replay, unfinished sagas, the power-restore decision; reconcile.go the
// hardware against the components; emergency.go emergencies and host
// crashes; schedule.go scheduled transitions; reading.go the read of the
// components and hardware a decision is made on; config.go the topology,
// policy and the Hardware contract; records.go, errors.go what is logged
// and refused.
package coordinator
