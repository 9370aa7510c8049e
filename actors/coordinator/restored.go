package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/events"
)

// A restore of a checkpoint (events.RestoreStream) puts back a log whose
// unfinished operations, pending power-loss decisions and schedules may
// long have been overtaken by what happened since, so the first Start
// over it never actuates on them: the sagas are abandoned (neither
// resumed nor compensated), the power-restore policy is not applied
// (the PSUs now read unpowered against a checkpoint that says On is no AC
// loss), and schedules already due are dropped; the reconciliation then
// (the assembly's, which reports drift) records what the hardware shows. RecRestoreSettled marks the restore
// dealt with, so a later Start resumes and decides as usual.

// restoreStart is the restore a Start deals with.
type restoreStart struct {
	seq        uint64 // the log_restored event's global sequence
	checkpoint string
}

func (r *restoreStart) why() string {
	return fmt.Sprintf("the log was restored from checkpoint %s (log_restored at %d): a restore never actuates on the restored history", r.checkpoint, r.seq)
}

// pendingRestore returns the restore of the log no Start has settled, or
// nil: the restore stream's last event, if it is a log_restored after
// settled.
func (c *Coordinator) pendingRestore(ctx context.Context, settled uint64) (*restoreStart, error) {
	head, err := c.cfg.Log.StreamHead(ctx, events.RestoreStream)
	if err != nil || head == 0 {
		return nil, err
	}
	evs, err := c.cfg.Log.ReadStream(ctx, events.RestoreStream, head, 1)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].Type != events.EventLogRestored || evs[0].GlobalSeq <= settled {
		return nil, nil
	}
	var p struct {
		Checkpoint string `json:"checkpoint"`
	}
	if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
		return nil, fmt.Errorf("%w: %s event %d: %w", events.ErrCorrupt, events.EventLogRestored, evs[0].GlobalSeq, err)
	}
	return &restoreStart{seq: evs[0].GlobalSeq, checkpoint: p.Checkpoint}, nil
}

// reconcileRestored is restoreOnStart after a restore: the policy is not
// evaluated (the decision and why are logged) and a power loss the
// checkpoint had pending is dropped with it. The chassis is not
// reconciled here: the start's reconciliation with the hardware, next,
// does it and reports every difference as drift, which the restore's
// reply lists.
func (c *Coordinator) reconcileRestored(ctx context.Context, ch ChassisTopology, r *restoreStart) error {
	_, _, err := c.append(RecAPRDecided, fmt.Sprintf("restored/%d/%s", r.seq, ch.ID), Record{Component: ch.ID, Policy: c.cfg.Policy.PowerRestore,
		Restored: r.seq, States: c.lastObserved(ctx, ch), Cause: r.why() + ": the power-restore policy is not applied"})
	if err != nil {
		return err
	}
	return c.call(func(s *state) { delete(s.acLost, ch.ID) })
}

// abandon closes the unfinished operations ids without running them: the
// saga index closes each saga abandoned and each operation finishes
// abandoned. Called on the loop.
func (c *Coordinator) abandon(s *state, ids []string, r *restoreStart) {
	reason := r.why() + ": the operation was abandoned, neither resumed nor compensated; check the hardware and request it again"
	for _, id := range ids {
		o := s.ops[id]
		if err := c.engine.Abandon(context.Background(), id, reason); err != nil {
			c.log.Error("cannot close an abandoned saga", "op", id, "error", err)
		}
		res := Result{Op: id, Kind: o.req.Kind, Target: o.req.Target, Outcome: saga.Abandoned, Reason: reason}
		if _, _, err := c.append(RecOpFinished, "finished/"+id, Record{Op: id, Result: &res, Requester: o.req.Requester, Restored: r.seq}); err != nil {
			c.log.Error("cannot record an operation's outcome", "op", id, "error", err)
		}
		c.finish(s, o, res)
		c.abandoned = append(c.abandoned, id)
	}
}

// dropOverdue drops the schedules due already: they fired, or were meant
// to, in the history the restore replaced. Later ones stay armed. Called
// on the loop.
func (c *Coordinator) dropOverdue(s *state, r *restoreStart) {
	now := c.cfg.Clock.Now()
	for id, sc := range s.schedules {
		if sc.At.After(now) {
			continue
		}
		rec := Record{Schedule: id, Restored: r.seq, Error: "not fired", Cause: r.why() + fmt.Sprintf(": the schedule was due at %s, before the restore, and is dropped", sc.At.Format("2006-01-02T15:04:05Z07:00"))}
		if _, _, err := c.append(RecScheduleFired, "fired/"+id, rec); err != nil {
			c.log.Error("cannot drop an overdue schedule; it stays armed", "schedule", id, "error", err)
			continue
		}
		delete(s.schedules, id)
	}
}

// settleRestore records that Start dealt with restore r.
func (c *Coordinator) settleRestore(r *restoreStart) error {
	slices.Sort(c.abandoned)
	_, _, err := c.append(RecRestoreSettled, fmt.Sprintf("restore/%d", r.seq), Record{Restored: r.seq, Superseded: c.abandoned, Cause: r.why()})
	if err == nil {
		c.log.Warn("restored log settled without actuating", "checkpoint", r.checkpoint, "log_restored", r.seq, "abandoned", c.abandoned)
	}
	return err
}

// Abandoned returns the operations Start abandoned because the log was
// restored from a checkpoint (none otherwise).
func (c *Coordinator) Abandoned() []string { return slices.Clone(c.abandoned) }
