package badger

import (
	"sync/atomic"
	"time"
)

// Badger v4.9.6's compaction workers each wake every 50 ms whether or not
// anything was written (levels.go runCompactor), which is most of an idle
// daemon's wake-ups; NumCompactors cannot be 1, and 0 leaves level 0 to
// fill until writes stall. The bmc profile runs no workers and compacts
// here instead, only when something was written: level 0 gets a table
// only when a memtable fills, and that happens only while writes arrive.

// Compaction timings.
const (
	// compactPoll is how often level 0 is checked while writes arrive
	// (Badger's own workers check every 50 ms).
	compactPoll = 50 * time.Millisecond
	// compactQuiet is how long after the last commit the checks go on: a
	// memtable flush, which makes the level-0 table, may finish after it.
	compactQuiet = 2 * time.Second
	// compactBackstop is the check while nothing is written through the
	// log: other stores in the same database (snapshots/badger) write
	// without telling it.
	compactBackstop = time.Minute
)

// compactor compacts level 0 away whenever it has tables.
type compactor struct {
	wake     chan struct{} // a commit started or ended
	stop     chan struct{} // closed when the committer has stopped
	writing  atomic.Int32  // commits in progress
	lastDone atomic.Int64  // unix ns of the last commit's end
	flatten  func() error  // the database's Flatten(1)
	tables   func() int    // tables in level 0
}

// badgerCompactors makes every profile use Badger's workers: the baseline
// of BenchmarkCompaction (set through export_test.go only).
var badgerCompactors bool

// ownCompaction reports whether the log runs its own compactor instead of
// Badger's workers.
func (p Profile) ownCompaction() bool { return p == ProfileBMC && !badgerCompactors }

// begin and end bracket a commit.
func (c *compactor) begin() {
	c.writing.Add(1)
	c.nudge()
}

func (c *compactor) end() {
	c.lastDone.Store(time.Now().UnixNano())
	c.writing.Add(-1)
	c.nudge()
}

func (c *compactor) nudge() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// busy reports whether writes are arriving: a commit in progress (which
// may be waiting for level 0 to drain) or one that ended recently.
func (c *compactor) busy() bool {
	return c.writing.Load() > 0 || time.Since(time.Unix(0, c.lastDone.Load())) < compactQuiet
}

// run compacts until c.stop is closed; errors go to report.
func (c *compactor) run(report func(error)) {
	poll := time.NewTimer(compactPoll)
	backstop := time.NewTimer(compactBackstop)
	defer poll.Stop()
	defer backstop.Stop()
	for {
		if c.tables() > 0 {
			if err := c.flatten(); err != nil {
				report(err)
			}
		}
		var polled <-chan time.Time
		if c.busy() {
			poll.Reset(compactPoll)
			polled = poll.C
		}
		select {
		case <-c.stop:
			return
		case <-c.wake:
		case <-polled:
		case <-backstop.C:
			backstop.Reset(compactBackstop)
		}
	}
}
