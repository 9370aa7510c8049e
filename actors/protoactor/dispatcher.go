package protoactor

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// workerDispatcher runs mailboxes on parked goroutines that are reused,
// where protoactor's default dispatcher starts a goroutine each time a
// mailbox gets messages. A component's turn (Step, encoding, a durable
// append) needs several times a new goroutine's initial stack, and growing
// it copied the stack three times per request: about a tenth of a control
// request's CPU. A reused goroutine keeps its grown stack (until the
// garbage collector shrinks an idle one).
//
// Workers hand work to each other only when idle, so there are never more
// of them than mailboxes that ran at once: at most one per actor. At most
// maxParkedWorkers of them wait for work; the others exit after their
// turn, so a boot that starts every component at once does not leave a
// parked goroutine and its grown stack per component (1,000 services
// kept ~900).
type workerDispatcher struct {
	throughput int
	// idle is unbuffered: a send succeeds only when a worker waits on it.
	idle   chan func()
	quit   chan struct{} // closed by stop: idle workers exit
	parked atomic.Int32  // workers waiting on idle, or about to
}

// maxParkedWorkers bounds the workers that wait for work: more than the
// mailboxes a BMC's handful of requests run at once, so that steady
// traffic still finds a worker with a grown stack.
const maxParkedWorkers = 16

var _ actor.Dispatcher = (*workerDispatcher)(nil)

// dispatcherThroughput is how many messages a mailbox handles before it
// yields, protoactor's default.
const dispatcherThroughput = 300

func newWorkerDispatcher() *workerDispatcher {
	return &workerDispatcher{throughput: dispatcherThroughput, idle: make(chan func()), quit: make(chan struct{})}
}

func (d *workerDispatcher) Schedule(fn func()) {
	select {
	case d.idle <- fn:
	default:
		go d.work(fn)
	}
}

func (d *workerDispatcher) Throughput() int { return d.throughput }

func (d *workerDispatcher) work(fn func()) {
	for {
		fn()
		if d.parked.Add(1) > maxParkedWorkers {
			d.parked.Add(-1)
			return
		}
		select {
		case fn = <-d.idle:
			d.parked.Add(-1)
		case <-d.quit:
			return
		}
	}
}

// stop ends the idle workers; a mailbox scheduled later still runs, on a
// goroutine that exits after it.
func (d *workerDispatcher) stop() { close(d.quit) }
