package server

import (
	"context"
	"errors"
	"time"

	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

// Checkpoint subjects. Create and delete are control (operators), list
// and show read (viewers).
const (
	SubjectCheckpointCreate = "statemgr.checkpoint.create"
	SubjectCheckpointList   = "statemgr.checkpoint.list"
	SubjectCheckpointShow   = "statemgr.checkpoint.show"
	SubjectCheckpointDelete = "statemgr.checkpoint.delete"
)

// Checkpoints makes and keeps checkpoints of the daemon's durable state:
// snapshots/checkpoint's Manager.
type Checkpoints interface {
	Create(ctx context.Context) (checkpoint.Created, error)
	List(ctx context.Context) ([]checkpoint.Manifest, error)
	Show(ctx context.Context, id string, verify bool) (checkpoint.Manifest, error)
	Delete(ctx context.Context, id string) error
	Where() string
}

// MaxCheckpointTime bounds one statemgr.checkpoint.create: copying and
// storing the whole state. A store that takes longer is unavailable.
const MaxCheckpointTime = 10 * time.Minute

// checkpointCallTime bounds the other checkpoint requests (list, show
// with verify reads a whole checkpoint back, delete).
const checkpointCallTime = 2 * time.Minute

// Checkpoint requests and replies.
type (
	// CheckpointListRequest pages statemgr.checkpoint.list: From is the
	// checkpoint id to start at (a reply's "next"), Limit as in
	// ListRequest.
	CheckpointListRequest struct {
		From  string `json:"from,omitempty"`
		Limit int    `json:"limit,omitempty"`
	}
	// CheckpointRequest names a checkpoint. Verify (show only) reads the
	// whole checkpoint back and checks it against its manifest.
	CheckpointRequest struct {
		ID     string `json:"id"`
		Verify bool   `json:"verify,omitempty"`
	}
	// CheckpointCreateRequest is statemgr.checkpoint.create's: no fields.
	CheckpointCreateRequest struct{}

	// CheckpointList is the reply of statemgr.checkpoint.list, newest
	// first. Where says where the daemon keeps them.
	CheckpointList struct {
		Where       string                `json:"where"`
		Checkpoints []checkpoint.Manifest `json:"checkpoints"`
		Next        string                `json:"next,omitempty"`
		More        bool                  `json:"more,omitempty"`
	}
	// CheckpointReply describes one checkpoint. Verified says show read it
	// back whole and it matched; Deleted (create) lists the checkpoints
	// retention removed after it, PruneError why it could not remove
	// some.
	CheckpointReply struct {
		Where      string              `json:"where"`
		Checkpoint checkpoint.Manifest `json:"checkpoint"`
		Verified   bool                `json:"verified,omitempty"`
		Deleted    []string            `json:"deleted,omitempty"`
		PruneError string              `json:"prune_error,omitempty"`
	}
	// CheckpointDeleteReply is the reply of statemgr.checkpoint.delete.
	CheckpointDeleteReply struct {
		ID      string `json:"id"`
		Deleted bool   `json:"deleted"`
	}
)

func (r CheckpointList) pageItems() []any { return anySlice(r.Checkpoints) }

func (r CheckpointList) itemName(i int) string { return "checkpoint " + r.Checkpoints[i].ID }

func (r CheckpointList) firstItems(n int) any {
	r.Next, r.More = r.Checkpoints[n].ID, true
	r.Checkpoints = r.Checkpoints[:n]
	return r
}

// checkpointEndpoints are the checkpoint subjects; each answers
// checkpoints_not_configured without Config.Checkpoints.
func (s *Server) checkpointEndpoints(read, control func(string, any, func(context.Context, *call) (any, error)) endpoint) []endpoint {
	restore := control(SubjectCheckpointRestore, CheckpointRestoreRequest{}, s.checkpointRestore)
	restore.exclusive = true
	return []endpoint{
		control(SubjectCheckpointCreate, CheckpointCreateRequest{}, s.checkpointCreate),
		read(SubjectCheckpointList, CheckpointListRequest{}, s.checkpointList),
		read(SubjectCheckpointShow, CheckpointRequest{}, s.checkpointShow),
		control(SubjectCheckpointDelete, CheckpointRequest{}, s.checkpointDelete),
		restore,
	}
}

func (s *Server) checkpoints() (Checkpoints, error) {
	if s.cfg.Checkpoints == nil {
		return nil, newError(ErrCheckpointsNotConfigured, "this statemgrd keeps no checkpoints")
	}
	return s.cfg.Checkpoints, nil
}

func (s *Server) checkpointCreate(ctx context.Context, c *call) (any, error) {
	if _, derr := decode[CheckpointCreateRequest](c.data); derr != nil {
		return nil, derr
	}
	cps, err := s.checkpoints()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, MaxCheckpointTime)
	defer cancel()
	made, err := cps.Create(ctx)
	if err != nil {
		return nil, checkpointError(err)
	}
	s.log.Info("checkpoint created", "id", made.Manifest.ID, "seq", made.Manifest.Seq, "bytes", made.Manifest.Size,
		"where", cps.Where(), "requester", c.requester, "deleted_by_retention", made.Deleted)
	reply := CheckpointReply{Where: cps.Where(), Checkpoint: made.Manifest, Deleted: made.Deleted}
	if made.PruneError != nil {
		s.log.Warn("retention could not delete older checkpoints", "where", cps.Where(), "error", made.PruneError)
		reply.PruneError = made.PruneError.Error()
	}
	return reply, nil
}

func (s *Server) checkpointList(ctx context.Context, c *call) (any, error) {
	req, derr := decode[CheckpointListRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	cps, err := s.checkpoints()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, checkpointCallTime)
	defer cancel()
	all, err := cps.List(ctx)
	if err != nil {
		return nil, checkpointError(err)
	}
	reply := CheckpointList{Where: cps.Where()}
	reply.Checkpoints, reply.Next, derr = idPage(all, func(m checkpoint.Manifest) string { return m.ID }, "a checkpoint", req.From, req.Limit)
	if derr != nil {
		return nil, derr
	}
	if reply.Checkpoints == nil {
		reply.Checkpoints = []checkpoint.Manifest{}
	}
	reply.More = reply.Next != ""
	return reply, nil
}

// checkpointID decodes a request naming a checkpoint and checks the id.
func checkpointID(data []byte) (CheckpointRequest, error) {
	req, derr := decode[CheckpointRequest](data)
	if derr != nil {
		return req, derr
	}
	if _, _, err := checkpoint.ParseID(req.ID); err != nil {
		return req, checkpointError(err)
	}
	return req, nil
}

func (s *Server) checkpointShow(ctx context.Context, c *call) (any, error) {
	req, err := checkpointID(c.data)
	if err != nil {
		return nil, err
	}
	cps, err := s.checkpoints()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, checkpointCallTime)
	defer cancel()
	m, err := cps.Show(ctx, req.ID, req.Verify)
	if err != nil {
		return nil, checkpointError(err)
	}
	return CheckpointReply{Where: cps.Where(), Checkpoint: m, Verified: req.Verify}, nil
}

func (s *Server) checkpointDelete(ctx context.Context, c *call) (any, error) {
	req, err := checkpointID(c.data)
	if err != nil {
		return nil, err
	}
	if req.Verify {
		return nil, newError(ErrBadRequest, `"verify" is for statemgr.checkpoint.show`)
	}
	cps, err := s.checkpoints()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, checkpointCallTime)
	defer cancel()
	if err := cps.Delete(ctx, req.ID); err != nil {
		return nil, checkpointError(err)
	}
	s.log.Info("checkpoint deleted", "id", req.ID, "where", cps.Where(), "requester", c.requester)
	return CheckpointDeleteReply{ID: req.ID, Deleted: true}, nil
}

// checkpointError maps the checkpoint package's errors to the catalogue.
func checkpointError(err error) error {
	var k *ErrorKind
	switch {
	case errors.Is(err, checkpoint.ErrBadID):
		k = ErrBadCheckpointID
	case errors.Is(err, checkpoint.ErrNotFound):
		k = ErrUnknownCheckpoint
	case errors.Is(err, checkpoint.ErrInProgress):
		k = ErrCheckpointInProgress
	case errors.Is(err, checkpoint.ErrCorrupt), errors.Is(err, checkpoint.ErrUnknownFormat):
		k = ErrCheckpointCorrupt
	case errors.Is(err, checkpoint.ErrPlatformMismatch):
		k = ErrCheckpointPlatformMismatch
	case errors.Is(err, checkpoint.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		k = ErrCheckpointStoreUnavailable
	default:
		return classify(err)
	}
	return &Error{Kind: k, Message: err.Error(), Err: err}
}
