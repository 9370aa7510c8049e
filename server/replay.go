package server

import (
	"context"
	"fmt"
)

// Replay paging bounds.
const (
	defaultReplayLimit = 256
	maxReplayLimit     = 1000
	// maxReplayScan bounds how many events one replay request reads, so a
	// narrow filter over a long log answers in pages instead of at once.
	maxReplayScan = 16 * maxReplayLimit
)

// replay answers statemgr.log.replay: matching events from a global
// seq, with the cursor to continue from.
func (s *Server) replay(ctx context.Context, c *call) (any, error) {
	req, derr := decode[ReplayRequest](c.data)
	if derr != nil {
		return nil, derr
	}
	limit, derr := pageLimit(req.Limit, defaultReplayLimit, maxReplayLimit)
	if derr != nil {
		return nil, derr
	}
	if derr := kindName(req.Filter.Kind); derr != nil {
		return nil, derr
	}
	if req.Filter.Component != "" {
		if _, derr := componentID(req.Filter.Component, req.Filter.Kind); derr != nil {
			return nil, derr
		}
	}
	head, err := s.cfg.Log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot read the log head: %w", err)
	}
	next := max(req.From, 1)
	reply := ReplayReply{Events: []Event{}, Head: head}
	scanned := 0
	// The head is the log's, or the last event read if the log grew
	// meanwhile; never the cursor, which may lie past the head.
	seen := head
	// Reading stops once the page's text is past what a reply can carry,
	// so a page of large records costs one reply's worth of work;
	// encodeReply then cuts the page exactly.
	budget, size := s.replyBudget(), 0
	for next <= head && len(reply.Events) < limit && scanned < maxReplayScan && size <= budget {
		page, err := s.cfg.Log.ReadAll(ctx, next, min(limit, maxReplayScan-scanned))
		if err != nil {
			return nil, fmt.Errorf("cannot read the log from %d: %w", next, err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			scanned++
			next = e.GlobalSeq + 1
			seen = max(seen, e.GlobalSeq)
			if ev := s.toEvent(e); req.Filter.Match(ev) {
				reply.Events = append(reply.Events, ev)
				if size += eventTextSize(ev); len(reply.Events) == limit || size > budget {
					break
				}
			}
		}
	}
	reply.Next = next
	reply.Head = seen
	reply.More = next <= seen
	return reply, nil
}

// eventTextSize is a lower bound of an event's encoded size: its text
// fields' lengths.
func eventTextSize(ev Event) int {
	return len(ev.ID) + len(ev.Kind) + len(ev.Type) + len(ev.From) + len(ev.To) + len(ev.Trigger) + len(ev.State) +
		len(ev.Cause) + len(ev.Requester) + len(ev.Operation) + len(ev.Alert) + len(ev.Message) + len(ev.Target) + len(ev.Outcome)
}
