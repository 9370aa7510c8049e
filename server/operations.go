package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/statemgr/statemgr/actors"
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
			if e.Operation != "" {
				s.ops.add(e.Operation, e.GlobalSeq)
			}
			from = e.GlobalSeq + 1
		}
	}
	return nil
}

// operation answers statemgr.operation.get from the index and the log.
func (s *Server) operation(ctx context.Context, c *call) (any, error) {
	req, derr := decode[OperationRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	if req.Operation == "" {
		return nil, newError(ErrBadRequest, `missing "operation": name the operation id a control reply returned`)
	}
	if derr := operationID(req.Operation); derr != nil {
		return nil, derr
	}
	seqs := s.ops.lookup(req.Operation)
	if len(seqs) == 0 {
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
		r, err := actors.DecodeRecord(e)
		if err != nil {
			return nil, err
		}
		ev := s.toEvent(e)
		reply.Records = append(reply.Records, ev)
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
	if reply.ID == "" {
		return nil, newError(ErrUnknownOperation, "operation %q has no readable records", req.Operation)
	}
	id := actors.ID(reply.ID)
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
