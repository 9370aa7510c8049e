package server

import (
	"sync"
	"time"
)

// repeatedWarnings rate-limits a warning that repeats: the first of a key
// is logged, then at most one per interval, which counts those not logged
// in between. Under a full disk every request fails the same way, and a
// line per request would fill the journal (and the disk) faster than the
// requests themselves. Keys are bounded (subject and error kind), so is
// the map.
type repeatedWarnings struct {
	interval time.Duration
	mu       sync.Mutex
	last     map[string]*warningWindow
}

type warningWindow struct {
	logged     time.Time
	suppressed int
}

// warningInterval is how often a repeated warning is logged at most.
const warningInterval = 10 * time.Second

func newRepeatedWarnings(interval time.Duration) *repeatedWarnings {
	return &repeatedWarnings{interval: interval, last: make(map[string]*warningWindow)}
}

// allow says whether to log the warning of key at now and, when it is
// logged, how many of the same were not since the last one.
func (r *repeatedWarnings) allow(key string, now time.Time) (log bool, suppressed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.last[key]
	if !ok {
		r.last[key] = &warningWindow{logged: now}
		return true, 0
	}
	if now.Sub(w.logged) < r.interval {
		w.suppressed++
		return false, 0
	}
	suppressed = w.suppressed
	w.logged, w.suppressed = now, 0
	return true, suppressed
}
