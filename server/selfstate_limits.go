package server

import (
	"math"
	"sync"
	"time"

	"github.com/statemgr/statemgr/actors"
)

// Bounds on what one service may store through its self-state reports:
// every accepted report is a record in the log and the service's view, so
// without them one service can fill the BMC's memory and flash (eight
// clients posting 60 KB statuses pushed the live heap to 146 MB).
const (
	MaxSelfStateText = 1024 // bytes of a report's "status" and of its "cause"
	SelfStateBurst   = 20   // reports a service may send at once
	SelfStateRate    = 2    // reports a second a service may send, sustained
)

// tokenBucket holds up to burst tokens, refilled at rate a second.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take spends a token at now, or returns how long until one is there. A
// clock that goes back refills nothing.
func (b *tokenBucket) take(now time.Time, rate float64, burst int) (bool, time.Duration) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+elapsed.Seconds()*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// reportLimiter keeps one bucket per service (self-state reports) and per
// host (host events); its map is bounded by the platform's components, as
// both handlers check the id before asking it.
type reportLimiter struct {
	mu      sync.Mutex
	buckets map[actors.ID]*tokenBucket
}

// allow spends one of service id's tokens at now, or returns the
// rate_limited error saying when to retry.
func (l *reportLimiter) allow(id actors.ID, now time.Time) *Error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[id]
	if !ok {
		if l.buckets == nil {
			l.buckets = map[actors.ID]*tokenBucket{}
		}
		b = &tokenBucket{tokens: SelfStateBurst, last: now}
		l.buckets[id] = b
	}
	if ok, wait := b.take(now, SelfStateRate, SelfStateBurst); !ok {
		return newError(ErrRateLimited, "%s was sent more than %d reports at once, or more than %d a second: retry in %v",
			id, SelfStateBurst, SelfStateRate, wait.Round(time.Millisecond))
	}
	return nil
}

// checkSelfStateText refuses a report's status or cause past
// MaxSelfStateText.
func checkSelfStateText(req SelfStateRequest) *Error {
	for _, f := range []struct{ name, value string }{{"status", req.Status}, {"cause", req.Cause}} {
		if len(f.value) > MaxSelfStateText {
			return newError(ErrFieldTooLong, "%q is %d bytes, at most %d: report a summary, and keep details in the service's own log",
				f.name, len(f.value), MaxSelfStateText)
		}
	}
	return nil
}
