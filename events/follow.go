package events

import (
	"context"
	"sync"
)

// Notifier wakes followers when the log's head advances. Implementations
// call Notify after every acknowledged append; followers wait on Changed.
type Notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// Changed returns a channel closed at the next Notify.
func (n *Notifier) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// Notify wakes everyone waiting on a channel from Changed.
func (n *Notifier) Notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// ReadAllFunc reads the global log, as Log.ReadAll does.
type ReadAllFunc func(ctx context.Context, from uint64, limit int) ([]Event, error)

// Subscription delivers events in global order on C. It reads the log itself
// rather than a copy of the live feed, so the replayed part and the live part
// meet with no gap and no duplicate, and a slow reader never slows appenders.
// C is closed when the subscription ends; Err then says why (nil after
// Close or when the context ended).
type Subscription struct {
	C <-chan Event

	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// followPage is how many events a follower reads per call.
const followPage = 512

// Follow starts a Subscription from global sequence from (0 or 1 = the
// start). Log implementations build Subscribe on it.
func Follow(ctx context.Context, read ReadAllFunc, n *Notifier, from uint64) *Subscription {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan Event, followPage)
	s := &Subscription{C: ch, cancel: cancel, done: make(chan struct{})}
	if from == 0 {
		from = 1
	}
	go func() {
		defer close(s.done)
		defer close(ch)
		s.err = follow(ctx, read, n, from, ch)
	}()
	return s
}

func follow(ctx context.Context, read ReadAllFunc, n *Notifier, next uint64, ch chan<- Event) error {
	for {
		// Take the wake-up channel before reading, so an append that lands
		// between the read and the wait still wakes us.
		changed := n.Changed()
		page, err := read(ctx, next, followPage)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range page {
			select {
			case ch <- e:
				next = e.GlobalSeq + 1
			case <-ctx.Done():
				return nil
			}
		}
		if len(page) == followPage {
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// Close ends the subscription and waits for its goroutine.
func (s *Subscription) Close() {
	s.cancel()
	<-s.done
}

// Err reports why the subscription ended, once C is closed.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}
