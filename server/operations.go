package server

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/events"
)

// operationIndex maps recent operation ids to the global seqs of their
// records. It is bounded: past size operations, the oldest is forgotten.
// The publisher feeds it as it follows the log; Start seeds it from the
// log's last records.
type operationIndex struct {
	mu    sync.Mutex
	size  int
	seqs  map[string][]uint64
	order []string // ring of operation ids, oldest at next
	next  int
}

func newOperationIndex(size int) *operationIndex {
	return &operationIndex{size: size, seqs: map[string][]uint64{}, order: make([]string, 0, size)}
}

func (x *operationIndex) add(op string, seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seqs, ok := x.seqs[op]; ok {
		if seqs[len(seqs)-1] < seq {
			x.seqs[op] = append(seqs, seq)
		}
		return
	}
	if len(x.order) < x.size {
		x.order = append(x.order, op)
	} else {
		delete(x.seqs, x.order[x.next])
		x.order[x.next] = op
		x.next = (x.next + 1) % x.size
	}
	x.seqs[op] = []uint64{seq}
}

func (x *operationIndex) lookup(op string) []uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]uint64(nil), x.seqs[op]...)
}

// indexOperation notes e under its operation. A saga step's records
// ("op-000042/2", ".../undo") also go under the coordinator operation
// ("op-000042") they belong to.
func (s *Server) indexOperation(e events.Event) {
	if e.Operation == "" {
		return
	}
	s.ops.add(e.Operation, e.GlobalSeq)
	if base, step := coordinator.StepOperation(e.Operation); step {
		s.ops.add(base, e.GlobalSeq)
	}
	if key, ok := strings.CutPrefix(e.IdempotencyKey, "key/"); ok && e.Stream == coordinator.Stream {
		s.ops.add(key, e.GlobalSeq) // the client's own id for the operation
	}
}

// resolveKey returns the coordinator operation a client's idempotency key
// names, or op itself.
func (s *Server) resolveKey(ctx context.Context, op string, seqs []uint64) string {
	if strings.HasPrefix(op, coordinatorOpPrefix) || len(seqs) == 0 {
		return op
	}
	page, err := s.cfg.Log.ReadAll(ctx, seqs[0], 1)
	if err != nil || len(page) == 0 || page[0].Stream != coordinator.Stream || page[0].Operation == "" {
		return op
	}
	return page[0].Operation
}

// keyConflict refuses operation id op for a request to component target
// when the log already has op for another component, or for a coordinator
// operation when target's request goes to the component alone (or the
// reverse: coordinated says which this request is). A retry to the same
// target is for the component or the coordinator to compare with the
// first request.
func (s *Server) keyConflict(ctx context.Context, op string, target actors.ID, coordinated bool) *Error {
	seqs := s.ops.lookup(op)
	if op == "" || len(seqs) == 0 {
		return nil
	}
	page, err := s.cfg.Log.ReadAll(ctx, seqs[0], 1)
	if err != nil || len(page) == 0 {
		return nil
	}
	first := page[0]
	if first.Stream == coordinator.Stream {
		if coordinated {
			return nil // the coordinator compares the requests
		}
		return conflictWith(op, first.Operation, "a coordinator operation")
	}
	if coordinated || first.Stream != string(target) {
		return conflictWith(op, op, "a request to "+first.Stream)
	}
	return nil
}

func conflictWith(key, firstOp, what string) *Error {
	return &Error{Kind: ErrIdempotencyConflict, Refusal: &Refusal{Operation: firstOp},
		Message: fmt.Sprintf("operation id %q already names %s (operation %s): a different request needs a new operation id", key, what, firstOp)}
}

// seedWindow is how many of the log's last events Start reads to seed the
// operation index.
const seedWindow = 10000

func (s *Server) seedOperations(ctx context.Context, head uint64) error {
	from := uint64(1)
	if head > seedWindow {
		from = head - seedWindow + 1
	}
	for from <= head {
		page, err := s.cfg.Log.ReadAll(ctx, from, 1024)
		if err != nil {
			return fmt.Errorf("cannot seed the operation index: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.GlobalSeq > head {
				return nil
			}
			s.indexOperation(e)
			from = e.GlobalSeq + 1
		}
	}
	return nil
}

// decodeOperationRequest decodes a request naming an operation; what says
// which operation, for the error when none is named.
func decodeOperationRequest(data []byte, what string) (OperationRequest, *Error) {
	req, derr := decode[OperationRequest](data)
	if derr != nil {
		return req, derr
	}
	if req.Operation == "" {
		return req, newError(ErrBadRequest, `missing "operation": %s`, what)
	}
	return req, operationID(req.Operation)
}

// operation answers statemgr.operation.get from the index and the log.
func (s *Server) operation(ctx context.Context, c *call) (any, error) {
	req, derr := decodeOperationRequest(c.data, "name the operation id a control reply returned")
	if derr != nil {
		return nil, derr
	}
	seqs := s.ops.lookup(req.Operation)
	if op := s.resolveKey(ctx, req.Operation, seqs); op != req.Operation {
		req.Operation, seqs = op, s.ops.lookup(op)
	}
	outcome, res, coordinated := s.operationOutcome(ctx, req.Operation)
	if len(seqs) == 0 && !coordinated {
		return nil, newError(ErrUnknownOperation, "operation %q is not among the %d most recent operations", req.Operation, s.cfg.OperationIndexSize)
	}
	reply := OperationReply{Operation: req.Operation, Records: []Event{}}
	var last uint64
	var lastRecord actors.Record
	for _, seq := range seqs {
		page, err := s.cfg.Log.ReadAll(ctx, seq, 1)
		if err != nil {
			return nil, fmt.Errorf("cannot read operation %s's record %d: %w", req.Operation, seq, err)
		}
		if len(page) == 0 || page[0].GlobalSeq != seq {
			continue
		}
		e := page[0]
		ev := s.toEvent(e)
		reply.Records = append(reply.Records, ev)
		if coordinated {
			if reply.Requester == "" && e.Stream == coordinator.Stream {
				reply.Requester = e.Requester
			}
			continue
		}
		r, err := actors.DecodeRecord(e)
		if err != nil {
			return nil, err
		}
		if reply.ID == "" {
			reply.ID, reply.Requester = e.Stream, e.Requester
		}
		if reply.Request == "" && r.Event.Trigger != "" {
			reply.Request = r.Event.Trigger
		}
		if e.Stream == reply.ID {
			last, lastRecord = e.StreamSeq, r
		}
	}
	if coordinated {
		reply.ID, reply.Request, reply.Outcome = string(res.Target), string(res.Kind), outcome
		return reply, nil
	}
	if reply.ID == "" {
		return nil, newError(ErrUnknownOperation, "operation %q has no readable records", req.Operation)
	}
	id := actors.ID(reply.ID)
	if lastRecord.Event.Type == machine.EventRejected {
		reply.Outcome = s.rejectedOutcome(id, lastRecord, last)
		return reply, nil
	}
	outcome, done := s.outcomeOf(id, lastRecord.Status, last)
	if !done {
		var err error
		outcome, _, _, err = s.scanOutcome(ctx, id, last+1, outcome)
		if err != nil {
			return nil, err
		}
	}
	reply.Outcome = outcome
	return reply, nil
}

// rejectedOutcome is the outcome of a request its component rejected: the
// record r at stream seq seq says why.
func (s *Server) rejectedOutcome(id actors.ID, r actors.Record, seq uint64) Outcome {
	cause := r.Event.Cause
	if m, ok := s.cfg.System.Machine(id); ok {
		cause = (&protoactor.RefusedError{Component: id, Rejected: m.Rejection(r.Event)}).Error()
	}
	return Outcome{Result: ResultRejected, State: r.Status.State, Cause: cause, Seq: seq, Time: r.Event.Time}
}
