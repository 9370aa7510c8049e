package logbench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/events/memlog"
)

// System names one of the compared append paths.
type System string

// The systems compared by the Append benchmark, in the order each round runs
// them.
const (
	// Raw is the disk's group-commit ceiling: one file, appenders hand their
	// records to one writer goroutine that writes the whole waiting group
	// with one write and one fdatasync, then acknowledges each record.
	Raw System = "raw"
	// Naive is Badger used the obvious way: SyncWrites on and one db.Update
	// per event (an event key and the stream's head key).
	Naive System = "naive"
	// Statemgr is events/badger's Log.Append, one event per append.
	Statemgr System = "statemgr"
	// Memory is events/memlog's Log.Append: the same appends with no disk.
	// No round runs it; other benchmarks use it as their no-disk floor.
	Memory System = "memory"
)

// Systems lists the Systems a round of the Append benchmark runs, in its
// order; Memory is not one of them.
var Systems = []System{Raw, Naive, Statemgr}

// Options configure the stores the benchmarks open.
type Options struct {
	// Profile is the events/badger storage profile of the Statemgr and
	// Naive systems and of built logs; "" means badger.ProfileServer.
	Profile badger.Profile
	// PayloadSize is the size of each event's payload (and of each Raw
	// record); 0 means 256.
	PayloadSize int
}

// DefaultPayloadSize is the payload size when Options.PayloadSize is 0.
const DefaultPayloadSize = 256

func (o Options) payload() []byte {
	n := o.PayloadSize
	if n <= 0 {
		n = DefaultPayloadSize
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return p
}

// openLog opens an events/badger log in dir with the options' profile and
// without background value-log GC, which would only add noise.
func (o Options) openLog(dir string) (*badger.Log, error) {
	l, err := badger.Open(badger.Options{Dir: dir, Profile: o.Profile, GCInterval: -1})
	if err != nil {
		return nil, fmt.Errorf("cannot open the benchmark's event log: %w", err)
	}
	return l, nil
}

// Appender is one system under test. Append appends one event to the
// stream of worker (host.<worker>) and returns once it is durable; seq is
// that worker's count of appends so far, from 1. Each worker calls Append
// from its own goroutine.
type Appender interface {
	Append(ctx context.Context, worker int, seq uint64) error
	Close() error
}

// OpenAppender opens system sys in the empty directory dir.
func OpenAppender(sys System, dir string, opts Options) (Appender, error) {
	switch sys {
	case Raw:
		return openGroupFile(filepath.Join(dir, "raw.log"), opts.payload())
	case Naive:
		l, err := opts.openLog(dir)
		if err != nil {
			return nil, err
		}
		return &naiveAppender{log: l, db: l.DB(), payload: opts.payload()}, nil
	case Statemgr:
		l, err := opts.openLog(dir)
		if err != nil {
			return nil, err
		}
		return &logAppender{log: l, payload: opts.payload()}, nil
	case Memory:
		return &logAppender{log: memlog.New(), payload: opts.payload()}, nil
	}
	return nil, fmt.Errorf("%w: unknown system %q: use %q, %q, %q or %q", ErrConfig, sys, Raw, Naive, Statemgr, Memory)
}

func streamName(worker int) string { return "host." + strconv.Itoa(worker) }

// benchEvent is the envelope every benchmark appends.
func benchEvent(payload []byte) events.Event {
	return events.Event{Type: "bench", Schema: 1, Time: time.Now(), Cause: "logbench", Payload: payload}
}

// logAppender is the Statemgr and Memory systems.
type logAppender struct {
	log     events.Log
	payload []byte
}

func (a *logAppender) Append(ctx context.Context, worker int, seq uint64) error {
	_, _, err := a.log.Append(ctx, streamName(worker), events.ExpectVersion(seq-1), []events.Event{benchEvent(a.payload)})
	return err
}

func (a *logAppender) Close() error { return a.log.Close() }

// naiveAppender is the Naive system: one synced transaction per event, in
// the database of an otherwise idle events/badger Log, so that both run on
// exactly the same profile.
type naiveAppender struct {
	log     *badger.Log
	db      *badgerdb.DB
	payload []byte
}

func (a *naiveAppender) Append(ctx context.Context, worker int, seq uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stream := streamName(worker)
	head := append([]byte{'X'}, stream...)
	return a.db.Update(func(txn *badgerdb.Txn) error {
		item, err := txn.Get(head)
		var have uint64
		switch {
		case errors.Is(err, badgerdb.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			if err := item.Value(func(b []byte) error {
				have = binary.BigEndian.Uint64(b)
				return nil
			}); err != nil {
				return err
			}
		}
		if have != seq-1 {
			return &events.VersionError{Stream: stream, Expected: events.ExpectVersion(seq - 1), Actual: have}
		}
		e := benchEvent(a.payload)
		e.Stream, e.StreamSeq = stream, seq
		key := binary.BigEndian.AppendUint64(append(append([]byte{'x'}, stream...), 0), seq)
		if err := txn.Set(key, events.Encode(nil, e)); err != nil {
			return err
		}
		return txn.Set(head, binary.BigEndian.AppendUint64(nil, seq))
	})
}

func (a *naiveAppender) Close() error { return a.log.Close() }

// rawRecordHeader is the prefix of each Raw record: worker and seq, so that
// a test can check the file.
const rawRecordHeader = 16

// groupFile is the Raw system: a group-commit writer over one file.
type groupFile struct {
	f       *os.File
	fd      int
	path    string
	payload []byte
	reqs    chan *rawRequest
	stop    chan struct{}
	exited  chan struct{}

	mu     sync.RWMutex // guards closed
	closed bool

	// Owned by the writer goroutine.
	failed error // sticky: after a failed write or sync nothing is acked
	off    int64 // bytes written so far
}

type rawRequest struct {
	rec  []byte
	done chan rawResult
}

type rawResult struct {
	off int64 // offset of the record in the file
	err error
}

// rawMaxGroup bounds the records one write and sync take, like the Log's
// MaxGroup.
const rawMaxGroup = 1024

func openGroupFile(path string, payload []byte) (*groupFile, error) {
	if len(payload) < rawRecordHeader {
		return nil, fmt.Errorf("%w: the raw baseline needs records of at least %d bytes, not %d", ErrConfig, rawRecordHeader, len(payload))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create the raw baseline's file: %w", err)
	}
	g := &groupFile{
		f:       f,
		fd:      int(f.Fd()),
		path:    path,
		payload: payload,
		reqs:    make(chan *rawRequest, 4096),
		stop:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	go g.writer()
	return g, nil
}

// Append writes the worker's record seq and waits until it is synced.
func (g *groupFile) Append(ctx context.Context, worker int, seq uint64) error {
	_, err := g.write(ctx, g.record(worker, seq))
	return err
}

// record returns worker's record seq: the worker and seq, then the payload.
func (g *groupFile) record(worker int, seq uint64) []byte {
	rec := make([]byte, len(g.payload))
	copy(rec, g.payload)
	binary.BigEndian.PutUint64(rec, uint64(worker))
	binary.BigEndian.PutUint64(rec[8:], seq)
	return rec
}

// write queues rec and returns its offset once it is synced.
func (g *groupFile) write(ctx context.Context, rec []byte) (int64, error) {
	req := &rawRequest{rec: rec, done: make(chan rawResult, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return 0, fmt.Errorf("raw baseline: %w", events.ErrClosed)
	}
	select {
	case g.reqs <- req:
	case <-ctx.Done():
		g.mu.RUnlock()
		return 0, ctx.Err()
	}
	g.mu.RUnlock()
	r := <-req.done
	return r.off, r.err
}

// writer takes every waiting request, writes them with one write and one
// fdatasync and answers each; after Close it drains the queue and exits.
func (g *groupFile) writer() {
	defer close(g.exited)
	group := make([]*rawRequest, 0, rawMaxGroup)
	var buf []byte
	for {
		var first *rawRequest
		select {
		case first = <-g.reqs:
		case <-g.stop:
			select {
			case first = <-g.reqs:
			default:
				return
			}
		}
		group = append(group[:0], first)
	more:
		for len(group) < rawMaxGroup {
			select {
			case r := <-g.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		buf = buf[:0]
		for _, r := range group {
			buf = append(buf, r.rec...)
		}
		g.commit(group, buf)
	}
}

func (g *groupFile) commit(group []*rawRequest, buf []byte) {
	err := g.failed
	if err == nil {
		if _, werr := g.f.Write(buf); werr != nil {
			err = events.ClassifyIOError("write the raw baseline's file", werr)
		} else if serr := unix.Fdatasync(g.fd); serr != nil {
			err = events.ClassifyIOError("fdatasync the raw baseline's file", serr)
		}
		g.failed = err
	}
	off := g.off
	for _, r := range group {
		r.done <- rawResult{off: off, err: err}
		off += int64(len(r.rec))
	}
	if err == nil {
		g.off = off
	}
}

// Close answers the queued records, stops the writer and closes the file.
func (g *groupFile) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	close(g.stop)
	<-g.exited
	if err := g.f.Close(); err != nil {
		return fmt.Errorf("cannot close the raw baseline's file %s: %w", g.path, err)
	}
	return nil
}
