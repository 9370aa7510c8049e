package events

import (
	"context"
	"sync"
)

// Notifier wakes followers when the log's head advances, and lends them the
// events of the last commits, so that a follower that has caught up takes
// new events from memory instead of reading them back from the log and
// decoding them. Implementations call Committed after every commit that
// stored events, in commit order, and Notify for any other change (Close);
// followers wait on Changed.
type Notifier struct {
	mu sync.Mutex
	ch chan struct{}
	// recent holds the last commits' events: contiguous in global order,
	// at most recentEvents of them beyond the newest commit's.
	recent  [][]Event
	nRecent int
}

// recentEvents bounds the events a Notifier keeps for followers that lag
// by a commit or a few; one further behind reads the log.
const recentEvents = followPage

// Committed records evs, the events one commit stored, in global order,
// and wakes followers. evs must not be modified afterwards: followers
// deliver them as they are. Events that do not follow the previous
// commit's end what the Notifier lends, and followers read the log again.
func (n *Notifier) Committed(evs []Event) {
	if len(evs) == 0 {
		n.Notify()
		return
	}
	n.mu.Lock()
	if len(n.recent) > 0 {
		last := n.recent[len(n.recent)-1]
		if last[len(last)-1].GlobalSeq+1 != evs[0].GlobalSeq {
			n.recent, n.nRecent = nil, 0
		}
	}
	for len(n.recent) > 0 && n.nRecent > recentEvents {
		n.nRecent -= len(n.recent[0])
		n.recent[0] = nil
		n.recent = n.recent[1:]
	}
	n.recent = append(n.recent, evs)
	n.nRecent += len(evs)
	n.mu.Unlock()
	n.Notify()
}

// since returns the committed events from global sequence next on, and
// whether it knows them: false means the follower must read the log.
func (n *Notifier) since(next uint64) ([]Event, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.recent) == 0 || next < n.recent[0][0].GlobalSeq {
		return nil, false
	}
	var out []Event
	for _, evs := range n.recent {
		if first := evs[0].GlobalSeq; next < first+uint64(len(evs)) {
			out = append(out, evs[max(next, first)-first:]...)
		}
	}
	last := n.recent[len(n.recent)-1]
	return out, next <= last[len(last)-1].GlobalSeq+1
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

// Subscription delivers events in global order on C. It reads the log
// until it has caught up, then takes the events of each commit from the
// log's Notifier, and reads the log again whenever it falls behind what the
// Notifier keeps; either way it continues from the global sequence after
// the last event it delivered, so the replayed part and the live part meet
// with no gap and no duplicate, and a slow reader never slows appenders.
// Events may share their Payload with the appender and other readers: do
// not modify them. C is closed when the subscription ends; Err then says
// why (nil after Close or when the context ended).
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
		page, live := n.since(next)
		if !live {
			var err error
			if page, err = read(ctx, next, followPage); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		for _, e := range page {
			select {
			case ch <- e:
				next = e.GlobalSeq + 1
			case <-ctx.Done():
				return nil
			}
		}
		if !live && len(page) == followPage {
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
