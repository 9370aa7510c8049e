package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/restore"
)

// answerTime bounds the restored daemon's first answer.
const answerTime = 10 * time.Second

// Restore is statemgr.checkpoint.restore in the running daemon (the API
// calls it with every other control request refused and none in
// flight). Nothing is stopped until the checkpoint verifies against its
// platform and manifest and no operation is in flight or queued; then the
// core stops in order, as for a BMC reset, the log is replaced
// (restore.Apply: atomic), the core starts again over whichever log is in
// place (the assembly reconciles the restored states with the hardware
// and records the drift), and the reply is sent only once the restarted
// API has answered.
func (d *statemgrd) Restore(ctx context.Context, id, requester string) (server.CheckpointRestoreReply, error) {
	d.cycle.Lock()
	defer d.cycle.Unlock()
	if d.asm == nil || d.log == nil {
		return server.CheckpointRestoreReply{}, &server.Error{Kind: server.ErrStopping, Message: "statemgrd is stopping"}
	}
	if ops := operationsInFlight(d.asm.Coordinator.Holds()); len(ops) > 0 {
		return server.CheckpointRestoreReply{}, &server.Error{Kind: server.ErrOperationsInFlight,
			Message: fmt.Sprintf("cannot restore checkpoint %s while operations are in flight or queued: %s; wait for them to finish, then restore again", id, strings.Join(ops, ", "))}
	}
	m, err := d.checkpoints.manager(ctx)
	if err != nil {
		return server.CheckpointRestoreReply{}, err
	}
	store := m.Store()
	man, err := restore.Verify(ctx, store, id, d.checkpoints.platformInForce())
	if err != nil {
		return server.CheckpointRestoreReply{}, err
	}
	oldHead, err := d.log.Head(ctx)
	if err != nil {
		return server.CheckpointRestoreReply{}, fmt.Errorf("cannot read the log head before the restore: %w", err)
	}
	// From here on the components stop.
	d.health.restoring.Store(true)
	defer d.health.restoring.Store(false)
	notify(d.logger, daemon.SdNotifyReloading+"\nSTATUS=restoring checkpoint "+id)
	d.logger.Warn("restoring a checkpoint: stopping the components", "id", id, "seq", man.Seq, "requester", requester, "log_head", oldHead)
	grace, _ := time.ParseDuration(d.cfg.ShutdownGrace)
	if err := d.stopCore(grace); err != nil {
		d.logger.Warn("the components' stop for the restore finished with errors", "error", err)
	}
	profile, _ := badger.ParseProfile(d.cfg.StorageProfile)
	report, applyErr := restore.Apply(ctx, store, man, badger.Options{Dir: eventsDir(d.cfg), Profile: profile}, time.Now(),
		func(step string) { d.logger.Info("restore", "id", id, "step", step) })
	if err := d.startCore(d.ctx); err != nil {
		err = errors.Join(applyErr, err)
		d.logger.Error("cannot start the components after the restore; exiting", "id", id, "error", err)
		_ = d.stopCore(time.Second)
		select {
		case d.fatal <- err:
		default:
		}
		return server.CheckpointRestoreReply{}, &server.Error{Kind: server.ErrRestoreFailed, Err: err,
			Message: fmt.Sprintf("restore of checkpoint %s: statemgrd cannot start its components again and exits (systemd starts it on the log in place): %v", id, err)}
	}
	notify(d.logger, daemon.SdNotifyReady+"\nSTATUS=ready")
	restored, err := d.restoredSince(ctx, oldHead)
	switch {
	case err != nil:
		return server.CheckpointRestoreReply{}, &server.Error{Kind: server.ErrRestoreFailed, Err: err,
			Message: fmt.Sprintf("restore of checkpoint %s: cannot tell which log statemgrd runs on: %v", id, err)}
	case !restored:
		return server.CheckpointRestoreReply{}, &server.Error{Kind: server.ErrRestoreFailed, Err: applyErr,
			Message: fmt.Sprintf("restore of checkpoint %s failed and statemgrd runs on its previous state again, nothing replaced: %v", id, applyErr)}
	case applyErr != nil:
		// Committed: the restored log is in place, only its cleanup failed.
		d.logger.Warn("the restore is in place but did not finish cleanly", "id", id, "error", applyErr)
	}
	if err := d.answers(ctx); err != nil {
		return server.CheckpointRestoreReply{}, &server.Error{Kind: server.ErrRestoreFailed, Err: err,
			Message: fmt.Sprintf("checkpoint %s is restored but statemgrd's API does not answer over it: %v", id, err)}
	}
	reply := restoreReply(d.checkpoints.Where(), man, report, d.asm)
	d.logger.Warn("checkpoint restored", "id", id, "seq", man.Seq, "log_restored", reply.LogRestored, "replaced_head", reply.ReplacedHead,
		"drift", len(reply.Drift), "abandoned", reply.Abandoned, "requester", requester)
	return reply, nil
}

// operationsInFlight names the coordinator operations in flight or
// queued, from what they hold.
func operationsInFlight(holds map[actors.ID][]coordinator.Hold) []string {
	type opHolds struct {
		h   coordinator.Hold
		ids []string
	}
	byOp := map[string]*opHolds{}
	for id, hs := range holds {
		for _, h := range hs {
			if byOp[h.Op] == nil {
				byOp[h.Op] = &opHolds{h: h}
			}
			byOp[h.Op].ids = append(byOp[h.Op].ids, string(id))
		}
	}
	var out []string
	for op, o := range byOp {
		slices.Sort(o.ids)
		what := fmt.Sprintf("%s (%s", op, o.h.Kind)
		if o.h.Queued {
			what += ", queued"
		}
		out = append(out, what+", holding "+strings.Join(o.ids, ", ")+")")
	}
	slices.Sort(out)
	return out
}

// restoredSince says whether the log the core has open is a restored one
// newer than oldHead: its restore stream ends in a log_restored event
// past it. An Apply error after the commit still leaves the restored log.
func (d *statemgrd) restoredSince(ctx context.Context, oldHead uint64) (bool, error) {
	head, err := d.log.StreamHead(ctx, badger.RestoreStream)
	if err != nil || head == 0 {
		return false, err
	}
	evs, err := d.log.ReadStream(ctx, badger.RestoreStream, head, 1)
	if err != nil || len(evs) == 0 {
		return false, err
	}
	return evs[0].Type == badger.EventLogRestored && evs[0].GlobalSeq > oldHead, nil
}

// answers asks the restarted API for the system's status.
func (d *statemgrd) answers(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, answerTime)
	defer cancel()
	msg, err := d.nc.RequestWithContext(ctx, server.SubjectSystemStatus, []byte(`{}`))
	if err != nil {
		return err
	}
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		return fmt.Errorf("%s answers %s: %s", server.SubjectSystemStatus, code, msg.Header.Get(micro.ErrorHeader))
	}
	return nil
}

// restoreReply describes the restore: the checkpoint, the new log's
// restore events, the states as recovered from it and what the
// reconciliation found.
func restoreReply(where string, man checkpoint.Manifest, report *badger.RestoreReport, a *assembly.Assembly) server.CheckpointRestoreReply {
	reply := server.CheckpointRestoreReply{Where: where, Checkpoint: man, Restored: []server.RestoredComponent{}, Drift: []server.RestoreDrift{}}
	if report != nil {
		reply.LogRestored, reply.ReplacedHead = report.Head, report.Replaced
		if report.Skipped != (events.SeqRange{}) {
			reply.SkippedFrom, reply.SkippedTo = report.Skipped.From, report.Skipped.To
		}
	}
	for id, st := range a.Recovered {
		reply.Restored = append(reply.Restored, server.RestoredComponent{ID: string(id), State: st.State})
	}
	slices.SortFunc(reply.Restored, func(x, y server.RestoredComponent) int { return strings.Compare(x.ID, y.ID) })
	if a.Coordinator != nil {
		reply.Abandoned = a.Coordinator.Abandoned()
	}
	for _, dr := range a.Drifts {
		reply.Drift = append(reply.Drift, server.RestoreDrift{Component: string(dr.Component), Device: dr.Device, Recorded: dr.Recorded, Observed: dr.Observed})
	}
	return reply
}
