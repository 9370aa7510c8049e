package server

import (
	"context"
	"errors"
	"time"

	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

// SubjectCheckpointRestore restores a checkpoint in the running daemon
// (control: operators only).
const SubjectCheckpointRestore = "statemgr.checkpoint.restore"

// MaxRestoreTime bounds one statemgr.checkpoint.restore: reading the
// checkpoint twice, the orderly stop (the services' grace included) and
// the start over the restored log.
const MaxRestoreTime = 15 * time.Minute

// Restorer restores a checkpoint in the running daemon: it checks the
// checkpoint and that no operation is in flight, stops this Server and
// the components, replaces the log, and starts them and another Server
// over it. The daemon implements it; its errors are *Error of the
// restore's kinds or the checkpoint package's. It is called with every
// other control request refused and none in flight.
type Restorer interface {
	Restore(ctx context.Context, id, requester string) (CheckpointRestoreReply, error)
}

type (
	// CheckpointRestoreRequest names the checkpoint to restore (always
	// verified first).
	CheckpointRestoreRequest struct {
		ID string `json:"id"`
	}
	// CheckpointRestoreReply is the reply of statemgr.checkpoint.restore,
	// sent once the daemon answers over the restored log.
	CheckpointRestoreReply struct {
		Where      string              `json:"where"`
		Checkpoint checkpoint.Manifest `json:"checkpoint"`
		// LogRestored is the global sequence of the log_restored event
		// that records the restore in the new history; ReplacedHead the
		// highest sequence the replaced log had acknowledged.
		LogRestored  uint64 `json:"log_restored"`
		ReplacedHead uint64 `json:"replaced_head"`
		// SkippedFrom..SkippedTo are the sequences the checkpoint does not
		// hold and the replaced log had used (skipped_by_restore events);
		// zero when none.
		SkippedFrom uint64 `json:"skipped_from,omitempty"`
		SkippedTo   uint64 `json:"skipped_to,omitempty"`
		// Restored are the components' states as the checkpoint has them,
		// before the reconciliation with the hardware.
		Restored []RestoredComponent `json:"restored"`
		// Drift are the differences the reconciliation found between the
		// restored states and the hardware now; each was recorded as an
		// observation of its component, with the evidence.
		Drift []RestoreDrift `json:"drift"`
		// Abandoned are the operations the checkpoint holds unfinished: a
		// restore neither resumes nor compensates them (it never actuates),
		// it records them abandoned.
		Abandoned []string `json:"abandoned,omitempty"`
	}
	// RestoredComponent is one component's state as restored.
	RestoredComponent struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	// RestoreDrift is one difference between a restored state and the
	// hardware.
	RestoreDrift struct {
		Component string `json:"component"`
		Device    string `json:"device"`   // the line or PSU that shows it
		Recorded  string `json:"recorded"` // what the checkpoint says
		Observed  string `json:"observed"` // what the hardware says now
	}
)

// checkpointRestore answers statemgr.checkpoint.restore. The handler has
// marked the Server restoring (every other control request is refused
// from then on); this waits for those in flight, then hands over to the
// daemon's Restorer.
func (s *Server) checkpointRestore(ctx context.Context, c *call) (any, error) {
	defer s.endExclusive()
	req, derr := decode[CheckpointRestoreRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	if _, _, err := checkpoint.ParseID(req.ID); err != nil {
		return nil, checkpointError(err)
	}
	if s.cfg.Restorer == nil || s.cfg.Checkpoints == nil {
		return nil, newError(ErrCheckpointsNotConfigured, "this statemgrd keeps no checkpoints, so it restores none")
	}
	s.controls.Wait()
	ctx, cancel := context.WithTimeout(ctx, MaxRestoreTime)
	defer cancel()
	s.log.Warn("restoring a checkpoint: control requests are refused until it ends", "id", req.ID, "requester", c.requester)
	reply, err := s.cfg.Restorer.Restore(ctx, req.ID, c.requester)
	if err != nil {
		s.log.Error("checkpoint restore failed", "id", req.ID, "requester", c.requester, "error", err)
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return nil, apiErr // the daemon's own kinds, which may wrap a checkpoint error
		}
		return nil, checkpointError(err)
	}
	return reply, nil
}

// beginExclusive marks the Server running the exclusive request of
// subject, or says one already runs; the caller holds s.mu.
func (s *Server) beginExclusive(subject string) *Error {
	if s.exclusive != "" {
		return exclusiveRunning(s.exclusive, subject)
	}
	s.exclusive = subject
	return nil
}

// exclusiveRunning refuses a request of subject while the exclusive
// request of running runs.
func exclusiveRunning(running, subject string) *Error {
	if running == SubjectConfigSet {
		return newError(ErrConfigInProgress, "a platform change (statemgr config set) is in progress: %s is refused until it ends", subject)
	}
	return newError(ErrRestoreInProgress, "a checkpoint restore is in progress: %s is refused until it ends", subject)
}

// endExclusive lets control requests in again: the exclusive request
// failed before the Server was stopped, or the Server is stopped and
// refuses them anyway.
func (s *Server) endExclusive() {
	s.mu.Lock()
	s.exclusive = ""
	s.mu.Unlock()
}
