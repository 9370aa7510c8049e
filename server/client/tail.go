package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server"
)

// TailOptions say what Tail follows.
type TailOptions struct {
	// From is the first global seq to print; 0 starts at the log's head
	// (only new events) when following, at the start otherwise.
	From   uint64
	Follow bool // keep following live events
	Filter server.EventFilter
	// RequestTimeout bounds each replay request; 0 means 5s.
	RequestTimeout time.Duration
	// LiveBuffer is the number of live messages buffered while history is
	// paged; 0 means 65536. Messages past it are dropped by the NATS
	// client and recovered from the log as a gap.
	LiveBuffer int
}

// Tail prints events through emit in global order, with no gap and no
// duplicate, until ctx ends (following) or the history is exhausted. A
// non-nil error from emit stops it.
func (c *Client) Tail(ctx context.Context, opts TailOptions, emit func(server.Event) error) error {
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	if opts.LiveBuffer <= 0 {
		opts.LiveBuffer = 65536
	}
	t := &tail{c: c, opts: opts, emit: emit}
	var live chan *nats.Msg
	var sub *nats.Subscription
	if opts.Follow {
		live = make(chan *nats.Msg, opts.LiveBuffer)
		var err error
		sub, err = c.nc.ChanSubscribe(server.SubjectEventsComponents, live)
		if err != nil {
			return fmt.Errorf("cannot subscribe to %s: %w", server.SubjectEventsComponents, err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		// The subscription must be in place at the server before the
		// history is read, or an event could fall between the two.
		fctx, cancel := context.WithTimeout(ctx, opts.RequestTimeout)
		err = c.nc.FlushWithContext(fctx)
		cancel()
		if err != nil {
			return fmt.Errorf("cannot subscribe to %s: %w", server.SubjectEventsComponents, err)
		}
	}
	t.next = max(opts.From, 1)
	if opts.From == 0 && opts.Follow {
		head, err := t.head(ctx)
		if err != nil {
			return err
		}
		t.next = head + 1
	}
	if err := t.catchUp(ctx); err != nil {
		return err
	}
	if !opts.Follow {
		return nil
	}
	// Dropped live messages (a slow reader) or messages lost while the
	// connection was down leave a gap that only a later event would
	// reveal; checking the drop count, and the log now and then, closes it
	// without one.
	check := time.NewTicker(dropCheckInterval)
	defer check.Stop()
	resync := time.NewTicker(resyncInterval)
	defer resync.Stop()
	dropped := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg := <-live:
			if err := t.live(ctx, msg); err != nil {
				return err
			}
		case <-check.C:
			n, err := sub.Dropped()
			if err != nil {
				return fmt.Errorf("cannot check the live subscription: %w", err)
			}
			if n != dropped {
				dropped = n
				if err := t.catchUp(ctx); err != nil {
					return err
				}
			}
		case <-resync.C:
			if err := t.catchUp(ctx); err != nil {
				return err
			}
		}
	}
}

// How often Tail checks for dropped live messages, and reads the log for
// events it may have missed otherwise.
const (
	dropCheckInterval = 100 * time.Millisecond
	resyncInterval    = 5 * time.Second
)

type tail struct {
	c    *Client
	opts TailOptions
	emit func(server.Event) error
	next uint64 // the next global seq to deliver
}

// head reads the log's head from statemgr.system.status.
func (t *tail) head(ctx context.Context) (uint64, error) {
	rctx, cancel := context.WithTimeout(ctx, t.opts.RequestTimeout)
	defer cancel()
	var status server.SystemStatus
	if err := t.c.Request(rctx, server.SubjectSystemStatus, struct{}{}, &status); err != nil {
		return 0, err
	}
	return status.LogHead, nil
}

// catchUp pages the log from t.next until it has passed the log's head. A
// live event is published only once durable, so after a catch-up started
// on its arrival the cursor is past it.
func (t *tail) catchUp(ctx context.Context) error {
	for {
		rctx, cancel := context.WithTimeout(ctx, t.opts.RequestTimeout)
		page, err := t.c.Replay(rctx, server.ReplayRequest{From: t.next, Limit: 1000, Filter: t.opts.Filter})
		cancel()
		if err != nil {
			return err
		}
		for _, ev := range page.Events {
			if ev.Seq < t.next {
				continue
			}
			if err := t.emit(ev); err != nil {
				return err
			}
		}
		t.next = max(t.next, page.Next)
		if t.next > page.Head {
			return nil
		}
	}
}

// live takes one live message: a duplicate is dropped, the next seq is
// delivered, a gap is closed from the log.
func (t *tail) live(ctx context.Context, msg *nats.Msg) error {
	seq, err := strconv.ParseUint(msg.Header.Get(server.HeaderSeq), 10, 64)
	if err != nil {
		return fmt.Errorf("event on %s without a valid %s header: %w", msg.Subject, server.HeaderSeq, err)
	}
	switch {
	case seq < t.next:
		return nil
	case seq > t.next:
		return t.catchUp(ctx)
	}
	var ev server.Event
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		return fmt.Errorf("cannot decode event %d: %w", seq, err)
	}
	t.next = seq + 1
	if t.opts.Filter.Match(ev) {
		return t.emit(ev)
	}
	return nil
}
