package server

import (
	"encoding/json"
	"fmt"
)

// Reply paging. NATS drops a message over the connection's max payload
// (headers included) at the publisher, so every reply whose size grows
// with data is cut to fit: the reply says "more": true and carries the
// cursor to ask for the rest ("next", sent back as "from"). docs/API.md
// (Paging) documents the scheme.

// replyHeadroom is what a reply keeps free under the max payload for the
// headers a reply may carry (micro's error headers, our error code).
const replyHeadroom = 1024

// cursorSlack covers the growth of a reply's cursor fields ("next",
// "more") between the empty page measured and the page sent.
const cursorSlack = 64

// pagedReply is a reply whose items may be split across replies.
type pagedReply interface {
	// pageItems returns the items, each as the value to encode.
	pageItems() []any
	// firstItems returns the reply cut to its first n items, with the
	// cursor at item n and more set.
	firstItems(n int) any
	// itemName names item i for an error about it.
	itemName(i int) string
}

// replyBudget is the largest reply body the server sends.
func (s *Server) replyBudget() int {
	limit := int(s.cfg.Conn.MaxPayload())
	if limit <= 2*replyHeadroom {
		return limit / 2
	}
	return limit - replyHeadroom
}

// encodeReply encodes reply in at most budget bytes: whole if it fits,
// else the first items of a paged reply that fit. A reply that cannot
// be paged, or whose first item alone is over budget, is ErrReplyTooLarge.
func encodeReply(subject string, reply any, budget int) ([]byte, error) {
	body, err := json.Marshal(reply)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the reply: %w", err)
	}
	if len(body) <= budget {
		return body, nil
	}
	paged, ok := reply.(pagedReply)
	var items []any
	if ok {
		items = paged.pageItems()
	}
	if len(items) == 0 {
		return nil, replyTooLarge(fmt.Sprintf("the reply of %s", subject), len(body), budget)
	}
	empty, err := json.Marshal(paged.firstItems(0))
	if err != nil {
		return nil, fmt.Errorf("cannot encode the reply: %w", err)
	}
	used := len(empty) + cursorSlack
	n := 0
	for i, item := range items {
		b, err := json.Marshal(item)
		if err != nil {
			return nil, fmt.Errorf("cannot encode the reply: %w", err)
		}
		if used+len(b)+1 > budget {
			if i == 0 {
				return nil, replyTooLarge(paged.itemName(0), len(b), budget-len(empty)-cursorSlack)
			}
			break
		}
		used += len(b) + 1 // the comma
		n++
	}
	body, err = json.Marshal(paged.firstItems(n))
	if err != nil {
		return nil, fmt.Errorf("cannot encode the reply: %w", err)
	}
	if len(body) > budget {
		return nil, fmt.Errorf("a page of %s's reply is %d bytes, over its budget of %d: the page estimate is wrong", subject, len(body), budget)
	}
	return body, nil
}

func replyTooLarge(what string, size, limit int) *Error {
	return newError(ErrReplyTooLarge, "%s is %d bytes encoded, over the %d bytes a reply can carry under the NATS max payload", what, size, limit)
}

// anySlice converts items for pageItems.
func anySlice[T any](items []T) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

func (r ReplayReply) pageItems() []any { return anySlice(r.Events) }

func (r ReplayReply) itemName(i int) string {
	return fmt.Sprintf("event %d (%s %s)", r.Events[i].Seq, r.Events[i].ID, r.Events[i].Type)
}

func (r ReplayReply) firstItems(n int) any {
	r.Next, r.More = r.Events[n].Seq, true
	r.Events = r.Events[:n]
	return r
}

func (r HistoryReply) pageItems() []any { return anySlice(r.Transitions) }

func (r HistoryReply) itemName(i int) string {
	return fmt.Sprintf("transition %d of %s", r.Transitions[i].Seq, r.ID)
}

func (r HistoryReply) firstItems(n int) any {
	r.Next, r.More = r.Transitions[n].Seq, true
	r.Transitions = r.Transitions[:n]
	return r
}

func (r ComponentList) pageItems() []any { return anySlice(r.Components) }

func (r ComponentList) itemName(i int) string { return "component " + r.Components[i].ID }

func (r ComponentList) firstItems(n int) any {
	r.Next, r.More = r.Components[n].ID, true
	r.Components = r.Components[:n]
	return r
}

func (r SystemStatus) pageItems() []any { return anySlice(r.Components) }

func (r SystemStatus) itemName(i int) string { return "component " + r.Components[i].ID }

func (r SystemStatus) firstItems(n int) any {
	r.Next, r.More = r.Components[n].ID, true
	r.Components = r.Components[:n]
	return r
}

// A validate reply's items are its errors, then its components, counted
// from the request's "from".
func (r ValidateReply) pageItems() []any {
	return append(anySlice(r.Errors), anySlice(r.Components)...)
}

func (r ValidateReply) itemName(i int) string {
	if i < len(r.Errors) {
		return fmt.Sprintf("error %d of %s", r.From+i, r.Platform)
	}
	return fmt.Sprintf("component %s of %s", r.Components[i-len(r.Errors)].ID, r.Platform)
}

func (r ValidateReply) firstItems(n int) any {
	r.Next, r.More = r.From+n, true
	if n <= len(r.Errors) {
		r.Errors, r.Components = r.Errors[:n], nil
	} else {
		r.Components = r.Components[:n-len(r.Errors)]
	}
	return r
}

func (r AlertList) pageItems() []any { return anySlice(r.Alerts) }

func (r AlertList) itemName(i int) string { return "the alert " + r.Alerts[i].Key() }

func (r AlertList) firstItems(n int) any {
	r.Next, r.More = r.Alerts[n].Key(), true
	r.Alerts = r.Alerts[:n]
	return r
}
