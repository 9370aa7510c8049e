package badger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/events"
)

var (
	_ events.Log           = (*Log)(nil)
	_ events.AppendChecker = (*Log)(nil)
)

// Options configure Open.
type Options struct {
	Dir     string       // data directory; created if missing
	Profile Profile      // storage profile; "" means ProfileServer
	Logger  hclog.Logger // receives Badger's and the log's messages; nil = silent
	// GCInterval is how often value-log garbage collection runs; 0 means
	// 5 minutes, negative disables it.
	GCInterval time.Duration
	// MaxGroup bounds how many appends one commit takes; 0 means 1024.
	MaxGroup int
	// MinFreeBytes is the free space the log keeps on its filesystem:
	// below it, appends fail with events.ErrNoSpace before Badger writes.
	// Badger writes through mmap, and a write to an mmapped page that the
	// filesystem cannot back kills the process with SIGBUS instead of
	// returning ENOSPC, so the guard must trip first. 0 means the profile's
	// reserve sized to the filesystem (see Profile.Reserve); negative
	// disables the guard.
	MinFreeBytes int64
	// Statfs reports the size and the free bytes of the filesystem holding
	// a directory; nil means statfs(2). Tests inject small filesystems.
	Statfs func(dir string) (FilesystemSpace, error)
	// MarkCopy is the path of the high-water mark's second copy, outside
	// Dir (see HighWaterFile); empty means <Dir>.highwater.
	MarkCopy string
}

func (o Options) markCopy() string {
	if o.MarkCopy == "" {
		return defaultMarkCopy(o.Dir)
	}
	return o.MarkCopy
}

// FilesystemSpace is what statfs(2) says of a filesystem, in bytes.
type FilesystemSpace struct{ Size, Available int64 }

func statfs(dir string) (FilesystemSpace, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return FilesystemSpace{}, err
	}
	// Bsize is int32 on 32-bit ARM, int64 on amd64.
	bsize := int64(st.Bsize)
	return FilesystemSpace{Size: int64(st.Blocks) * bsize, Available: int64(st.Bavail) * bsize}, nil
}

// Log is the Badger-backed events.Log. Open one per data directory.
type Log struct {
	db       *badgerdb.DB
	hw       *highWater
	log      hclog.Logger
	notifier events.Notifier
	requests chan *appendRequest
	maxGroup int
	// commit commits a transaction; tests replace it to inject failures.
	commit  func(*badgerdb.Txn) error
	dir     string
	minFree int64
	statfs  func(string) (FilesystemSpace, error)

	stop    chan struct{}
	stopped sync.WaitGroup

	mu     sync.RWMutex // guards closed and failed
	closed bool
	failed error

	// compact is the log's own compactor (Profile.ownCompaction), or nil.
	compact *compactor

	// Owned by the committer goroutine.
	global uint64            // last committed global seq
	heads  map[string]uint64 // cache of stream heads, bounded by headCacheMax
}

// headCacheMax bounds the committer's stream-head cache; past it the cache
// is dropped and refilled from the database, so many short-lived streams
// (sagas) cannot grow memory without bound.
const headCacheMax = 65536

type appendRequest struct {
	ctx      context.Context
	stream   string
	expected events.Expected
	batch    []events.Event
	done     chan appendResult
}

type appendResult struct {
	stored    []events.Event
	duplicate bool
	err       error
}

// Open opens (or creates) the log in opts.Dir and starts its committer.
// It checks the files first and every record after (see verify.go): a log
// whose files are damaged is refused with an *events.DamageError that says
// what is damaged, which sequences are missing and what to do.
func Open(opts Options) (*Log, error) {
	bo, err := opts.Profile.options(opts.Dir)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	bo = bo.WithLogger(badgerLogger{logger.Named("badger")})
	if opts.Profile.ownCompaction() {
		bo.NumCompactors = 0
	}
	// A restore a crash interrupted is finished, or discarded if it was
	// not committed, before anything reads the log (restore.go).
	if err := finishRestore(opts.Dir); err != nil {
		return nil, fmt.Errorf("cannot open event log: %w", err)
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create the event log's directory: %w", err)
	}
	if opts.Statfs == nil {
		opts.Statfs = statfs
	}
	minFree := opts.MinFreeBytes
	if minFree == 0 {
		space, err := opts.Statfs(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("cannot size the event log's free-space reserve: %w", err)
		}
		minFree = opts.Profile.Reserve(space.Size)
	}
	// A log that cannot keep its reserve cannot append, and a daemon
	// cannot recover its components without appending: say so now.
	if err := checkFreeSpace(opts.Statfs, opts.Dir, minFree); err != nil {
		return nil, fmt.Errorf("cannot open event log: %w", err)
	}
	hw, mark, markValid, err := lockHighWater(opts.Dir, opts.markCopy())
	if err != nil {
		return nil, err
	}
	db, head, err := openChecked(opts.Dir, bo, mark, logger)
	if err != nil {
		_ = hw.close()
		return nil, withMarkDisagreement(err, hw.disagreement(mark))
	}
	if disagreement := hw.disagreement(head); disagreement != "" && head > 0 {
		logger.Warn("a copy of the high-water mark was missing, damaged or behind; rewritten from the log, which verified", "copies", disagreement, "head", head, "mark", mark, "mark_valid", markValid)
	}
	if err := hw.reset(head); err != nil {
		_ = db.Close()
		_ = hw.close()
		return nil, err
	}
	l := &Log{
		db:       db,
		hw:       hw,
		log:      logger,
		requests: make(chan *appendRequest, 4096),
		maxGroup: opts.MaxGroup,
		commit:   (*badgerdb.Txn).Commit,
		dir:      opts.Dir,
		minFree:  minFree,
		statfs:   opts.Statfs,
		stop:     make(chan struct{}),
		heads:    make(map[string]uint64),
		global:   head,
	}
	if l.maxGroup <= 0 {
		l.maxGroup = 1024
	}
	if bo.NumCompactors == 0 {
		l.compact = &compactor{
			wake:    make(chan struct{}, 1),
			stop:    make(chan struct{}),
			flatten: func() error { return db.Flatten(1) },
			tables:  func() int { return db.Levels()[0].NumTables },
		}
		l.stopped.Add(1)
		go func() {
			defer l.stopped.Done()
			l.compact.run(func(err error) { logger.Warn("compaction of level 0 failed; retrying on the next write", "error", err) })
		}()
	}
	l.stopped.Add(1)
	go l.committer()
	if opts.GCInterval >= 0 {
		interval := opts.GCInterval
		if interval == 0 {
			interval = 5 * time.Minute
		}
		l.stopped.Add(1)
		go l.collectGarbage(interval)
	}
	return l, nil
}

// openChecked checks dir's files, opens Badger on them and verifies every
// record against the high-water mark. It returns the verified head.
func openChecked(dir string, bo badgerdb.Options, mark uint64, logger hclog.Logger) (*badgerdb.DB, uint64, error) {
	if err := removeEmptyLogFiles(dir, logger); err != nil {
		return nil, 0, err
	}
	damage, orphans, err := preflight(dir, bo, mark, logger)
	if err != nil {
		return nil, 0, err
	}
	if err := damage.err(dir); err != nil {
		return nil, 0, err
	}
	// Badger deletes tables its MANIFEST does not list: keep them aside
	// until the records verify.
	var kept []string
	for _, name := range orphans {
		moved, err := moveAside(dir, name)
		if err != nil {
			return nil, 0, err
		}
		kept = append(kept, moved)
	}
	db, err := openBadger(bo)
	if err != nil {
		return nil, 0, err
	}
	head, err := verifyRecords(db, mark, &damage)
	if err == nil {
		err = damage.err(dir)
	}
	if err != nil {
		_ = db.Close()
		// The unlisted tables stay in damaged/: they may hold the only copy
		// of the missing records, and Badger may have reused their names.
		return nil, 0, withSetAside(err, dir)
	}
	for _, p := range kept {
		// Every record verified: the table was written by a flush or a
		// compaction that a crash interrupted, and its entries are elsewhere.
		if err := os.Remove(p); err == nil {
			logger.Info("removed a table a crash left unlisted; every record verified without it", "table", filepath.Base(p))
		}
	}
	return db, head, nil
}

// openBadger opens the database. Badger reports some damage by panicking in
// the caller's goroutine; that becomes a damage report too.
func openBadger(bo badgerdb.Options) (db *badgerdb.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &events.DamageError{Dir: bo.Dir, Problems: []string{"Badger cannot open its files: " + firstLine(fmt.Sprint(r))}}
		}
	}()
	db, err = badgerdb.Open(bo)
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, syscall.ENOSPC):
		return nil, fmt.Errorf("cannot open event log in %s: %w: %w", bo.Dir, events.ErrNoSpace, err)
	case errors.Is(err, fs.ErrPermission), strings.Contains(err.Error(), "directory lock"):
		return nil, fmt.Errorf("cannot open event log in %s: %w", bo.Dir, err)
	}
	return nil, &events.DamageError{Dir: bo.Dir, Problems: []string{"Badger cannot open its files: " + firstLine(err.Error())}}
}

// removeEmptyLogFiles deletes zero-length value logs (.vlog) and memtable
// write-ahead logs (.mem) before Badger opens the directory. Badger
// creates both files on open and when a memtable fills, and sizes them
// after creating them; a kill in between leaves an empty file, and Badger
// v4.9.6 then refuses to open the directory ("Create a new file": its log
// file open returns z.NewFile for an existing empty file, and both
// valueLog.open and openMemTables treat that as fatal). An empty file holds
// no entry, not even its header, so removing it loses nothing. Found by
// TestCrashKill9.
func removeEmptyLogFiles(dir string, logger hclog.Logger) error {
	for _, pattern := range []string{"*.vlog", "*.mem"} {
		paths, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return fmt.Errorf("cannot list %s files in %s: %w", pattern, dir, err)
		}
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil || fi.Size() != 0 {
				continue
			}
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("cannot remove the empty log file %s left by a crash: %w", p, err)
			}
			logger.Warn("removed an empty log file left by a crash", "file", p)
		}
	}
	return nil
}

// DB returns the underlying database, for stores that keep their data
// beside the events under their own key prefix (snapshots/badger). They
// must not write keys with this package's prefixes.
func (l *Log) DB() *badgerdb.DB { return l.db }

// Close stops the committer after the appends already queued, then syncs and
// closes the database.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	l.stopped.Wait()
	l.notifier.Notify()
	err := l.db.Close()
	if herr := l.hw.close(); err == nil {
		err = herr
	}
	if err != nil {
		return fmt.Errorf("cannot close event log: %w", err)
	}
	return nil
}

// CanAppend implements events.AppendChecker.
func (l *Log) CanAppend() error {
	closed, failed := l.state()
	switch {
	case closed:
		return events.ErrClosed
	case failed != nil:
		return fmt.Errorf("%w: %w", events.ErrLogFailed, failed)
	}
	return l.checkFreeSpace()
}

func (l *Log) state() (closed bool, failed error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed, l.failed
}

// Append implements events.Log.
func (l *Log) Append(ctx context.Context, stream string, expected events.Expected, batch []events.Event) ([]events.Event, bool, error) {
	if err := events.ValidateBatch(stream, batch); err != nil {
		return nil, false, err
	}
	req := &appendRequest{ctx: ctx, stream: stream, expected: expected, batch: batch, done: make(chan appendResult, 1)}
	// Holding the read lock while queueing keeps Close from closing stop
	// between our check and our send.
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, false, events.ErrClosed
	}
	select {
	case l.requests <- req:
	case <-ctx.Done():
		l.mu.RUnlock()
		return nil, false, ctx.Err()
	}
	l.mu.RUnlock()
	// Once queued, wait for the outcome even if ctx ends: the committer may
	// already be writing it, and an answer of "cancelled" for a stored event
	// would lie.
	r := <-req.done
	return r.stored, r.duplicate, r.err
}

// committer runs the group commit: it takes every queued append, commits
// them together and answers each.
func (l *Log) committer() {
	defer l.stopped.Done()
	if l.compact != nil {
		// Only now: the appends drained at Close may need level 0 compacted.
		defer close(l.compact.stop)
	}
	group := make([]*appendRequest, 0, l.maxGroup)
	for {
		select {
		case req := <-l.requests:
			group = append(group[:0], req)
		case <-l.stop:
			l.drain()
			return
		}
	more:
		for len(group) < l.maxGroup {
			select {
			case req := <-l.requests:
				group = append(group, req)
			default:
				break more
			}
		}
		if l.compact != nil {
			l.compact.begin()
		}
		for rest := group; len(rest) > 0; {
			rest = rest[l.commitGroup(rest):]
		}
		if l.compact != nil {
			l.compact.end()
		}
	}
}

// drain answers the appends still queued at Close.
func (l *Log) drain() {
	for {
		select {
		case req := <-l.requests:
			l.commitGroup([]*appendRequest{req})
		default:
			return
		}
	}
}

// staged is one append's outcome inside a group, before the commit.
type staged struct {
	req       *appendRequest
	stored    []events.Event
	duplicate bool
	err       error // a rejection of this append alone (version, idempotency)
}

// commitGroup stages as many of reqs as fit in one transaction, commits
// them and answers them. It returns how many it consumed (at least one).
func (l *Log) commitGroup(reqs []*appendRequest) int {
	if _, failed := l.state(); failed != nil {
		for _, r := range reqs {
			r.done <- appendResult{err: fmt.Errorf("%w: %w", events.ErrLogFailed, failed)}
		}
		return len(reqs)
	}
	if err := l.checkFreeSpace(); err != nil {
		for _, r := range reqs {
			r.done <- appendResult{err: err}
		}
		return len(reqs)
	}
	txn := l.db.NewTransaction(true)
	defer txn.Discard()
	heads := make(map[string]uint64) // heads as of this group
	keys := make(map[string]uint64)  // idempotency keys written by this group
	global := l.global
	results := make([]staged, 0, len(reqs))
	// One arena for the group's encoded records. It must not move while the
	// transaction holds slices of it: size it for the group up front, and
	// let a record that does not fit start a new arena (the old one stays
	// alive through the slices the transaction holds).
	arena := make([]byte, 0, groupArenaSize(reqs))
	for i, r := range reqs {
		s, err := l.stage(txn, r, heads, keys, &global, &arena)
		if errors.Is(err, badgerdb.ErrTxnTooBig) {
			if i == 0 {
				r.done <- appendResult{err: fmt.Errorf("cannot append %d events to %q: %w", len(r.batch), r.stream, events.ErrBatchTooLarge)}
				return 1
			}
			// The transaction holds part of this append; redo the group
			// without it.
			txn.Discard()
			return l.commitGroup(reqs[:i])
		}
		if err != nil { // a read failure: answer it alone
			s = staged{req: r, err: err}
		}
		results = append(results, s)
	}
	if global != l.global {
		if err := txn.Set([]byte(keyGlobal), u64(global)); err != nil {
			if errors.Is(err, badgerdb.ErrTxnTooBig) && len(reqs) > 1 {
				txn.Discard()
				return l.commitGroup(reqs[:len(reqs)-1])
			}
			l.failAll(results, err)
			return len(results)
		}
		if err := l.commit(txn); err != nil {
			l.failAll(results, err)
			return len(results)
		}
		// The high-water mark moves before anyone is told: an
		// acknowledged sequence is never above it.
		if err := l.hw.store(global); err != nil {
			l.failAll(results, err)
			return len(results)
		}
		l.global = global
		if len(l.heads)+len(heads) > headCacheMax {
			l.heads = make(map[string]uint64)
		}
		for s, h := range heads {
			l.heads[s] = h
		}
	}
	var committed []events.Event // in global order: staging assigned the seqs in this order
	for _, s := range results {
		s.req.done <- appendResult{stored: s.stored, duplicate: s.duplicate, err: s.err}
		if s.err == nil && !s.duplicate {
			committed = append(committed, s.stored...)
		}
	}
	l.notifier.Committed(committed)
	return len(results)
}

// checkFreeSpace refuses a commit while the filesystem has less than
// minFree bytes available. Nothing is written, so the log stays usable and
// appends resume once space is freed.
func (l *Log) checkFreeSpace() error { return checkFreeSpace(l.statfs, l.dir, l.minFree) }

func checkFreeSpace(statfs func(string) (FilesystemSpace, error), dir string, minFree int64) error {
	if minFree < 0 {
		return nil
	}
	space, err := statfs(dir)
	if err != nil {
		return nil // cannot tell; let Badger report what it finds
	}
	if space.Available < minFree {
		return fmt.Errorf("%w: not enough space: %s free of %s in %s, the log keeps %s in reserve; free space or move the data directory to a larger filesystem",
			events.ErrNoSpace, mib(space.Available), mib(space.Size), dir, mib(minFree))
	}
	return nil
}

// mib formats a byte count in MiB, with a decimal below 10 MiB.
func mib(n int64) string {
	if n < 10<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// groupArenaSize estimates the bytes the group's encoded records need.
func groupArenaSize(reqs []*appendRequest) int {
	n := 0
	for _, r := range reqs {
		for _, e := range r.batch {
			n += 64 + len(r.stream) + len(e.Type) + len(e.Cause) + len(e.Requester) + len(e.Operation) + len(e.IdempotencyKey) + len(e.Payload)
		}
	}
	return n
}

// failAll records a commit failure: no append of the group is acknowledged,
// and the log refuses appends until it is reopened.
func (l *Log) failAll(results []staged, err error) {
	failure := events.ClassifyIOError("commit to the event log", err)
	l.mu.Lock()
	l.failed = failure
	l.mu.Unlock()
	l.log.Error("event log commit failed; refusing appends until reopened", "error", err, "appends", len(results))
	// The answer says the log is now failed: a full disk met by Badger
	// itself (not the free-space guard) does not heal by freeing space.
	for _, s := range results {
		s.req.done <- appendResult{err: fmt.Errorf("%w (%w)", failure, events.ErrLogFailed)}
	}
}

// stage validates one append against the database and the group so far and
// adds its writes to txn. A rejection is returned in staged.err; an error
// return means a read failed or the transaction is full.
func (l *Log) stage(txn *badgerdb.Txn, r *appendRequest, heads, keys map[string]uint64, global *uint64, arena *[]byte) (staged, error) {
	s := staged{req: r}
	if err := r.ctx.Err(); err != nil {
		s.err = err
		return s, nil
	}
	dupSeqs, err := l.storedKeys(txn, r, keys)
	if err != nil {
		return s, err
	}
	switch {
	case len(dupSeqs) == len(r.batch):
		s.duplicate = true
		s.stored, err = l.readSeqs(txn, r.stream, dupSeqs)
		s.err = err
		return s, nil
	case len(dupSeqs) > 0:
		s.err = fmt.Errorf("%w: %d of %d events of the batch for %q were stored before", events.ErrIdempotencyConflict, len(dupSeqs), len(r.batch), r.stream)
		return s, nil
	}
	head, err := l.head(txn, r.stream, heads)
	if err != nil {
		return s, err
	}
	if !r.expected.Matches(head) {
		s.err = &events.VersionError{Stream: r.stream, Expected: r.expected, Actual: head}
		return s, nil
	}
	g := *global
	stored := make([]events.Event, len(r.batch))
	for i, e := range r.batch {
		e = events.AsStored(e)
		e.Stream = r.stream
		e.StreamSeq = head + uint64(i) + 1
		e.GlobalSeq = g + uint64(i) + 1
		// Badger keeps the value slice until the commit: encode each record
		// into its own region of one arena instead of a copy per event.
		start := len(*arena)
		*arena = events.Encode(*arena, e)
		if err := txn.Set(eventKey(e.GlobalSeq), (*arena)[start:len(*arena):len(*arena)]); err != nil {
			return s, err
		}
		if err := txn.Set(streamKey(r.stream, e.StreamSeq), u64(e.GlobalSeq)); err != nil {
			return s, err
		}
		if e.IdempotencyKey != "" {
			if err := txn.Set(idempotencyKey(r.stream, e.IdempotencyKey), u64(e.StreamSeq)); err != nil {
				return s, err
			}
		}
		stored[i] = e
	}
	newHead := head + uint64(len(r.batch))
	if err := txn.Set(headKey(r.stream), u64(newHead)); err != nil {
		return s, err
	}
	for _, e := range stored {
		if e.IdempotencyKey != "" {
			keys[r.stream+"\x00"+e.IdempotencyKey] = e.StreamSeq
		}
	}
	heads[r.stream] = newHead
	*global = g + uint64(len(r.batch))
	s.stored = stored
	return s, nil
}

// storedKeys returns the stream seqs of the batch's idempotency keys that
// are already stored (in the database or earlier in this group).
func (l *Log) storedKeys(txn *badgerdb.Txn, r *appendRequest, group map[string]uint64) ([]uint64, error) {
	var seqs []uint64
	for _, e := range r.batch {
		if e.IdempotencyKey == "" {
			continue
		}
		if seq, ok := group[r.stream+"\x00"+e.IdempotencyKey]; ok {
			seqs = append(seqs, seq)
			continue
		}
		seq, err := readU64(txn, idempotencyKey(r.stream, e.IdempotencyKey))
		if err != nil {
			return nil, err
		}
		if seq != 0 {
			seqs = append(seqs, seq)
		}
	}
	return seqs, nil
}

func (l *Log) head(txn *badgerdb.Txn, stream string, group map[string]uint64) (uint64, error) {
	if h, ok := group[stream]; ok {
		return h, nil
	}
	if h, ok := l.heads[stream]; ok {
		return h, nil
	}
	return readU64(txn, headKey(stream))
}

// readSeqs reads events of stream by stream seq.
func (l *Log) readSeqs(txn *badgerdb.Txn, stream string, seqs []uint64) ([]events.Event, error) {
	out := make([]events.Event, 0, len(seqs))
	for _, seq := range seqs {
		g, err := readU64(txn, streamKey(stream, seq))
		if err != nil {
			return nil, err
		}
		e, err := readEvent(txn, g)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// readU64 reads a big-endian counter; a missing key reads as 0.
func readU64(txn *badgerdb.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var v uint64
	err = item.Value(func(b []byte) error {
		if len(b) != 8 {
			return fmt.Errorf("%w: counter %q holds %d bytes, want 8", events.ErrCorrupt, key, len(b))
		}
		v = binary.BigEndian.Uint64(b)
		return nil
	})
	return v, err
}

// readEvent reads and checks the event at global seq g.
func readEvent(txn *badgerdb.Txn, g uint64) (events.Event, error) {
	item, err := txn.Get(eventKey(g))
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return events.Event{}, &events.RecordError{GlobalSeq: g, Err: fmt.Errorf("%w: the record is missing", events.ErrCorrupt)}
	}
	if err != nil {
		return events.Event{}, fmt.Errorf("cannot read event %d: %w", g, err)
	}
	var e events.Event
	err = item.Value(func(b []byte) error {
		e, err = decodeAt(g, b)
		return err
	})
	return e, err
}

func decodeAt(g uint64, rec []byte) (events.Event, error) {
	e, err := events.Decode(rec)
	if err != nil {
		return events.Event{}, &events.RecordError{GlobalSeq: g, Err: err}
	}
	if e.GlobalSeq != g {
		return events.Event{}, &events.RecordError{GlobalSeq: g, Stream: e.Stream, StreamSeq: e.StreamSeq,
			Err: fmt.Errorf("%w: record claims global sequence %d", events.ErrCorrupt, e.GlobalSeq)}
	}
	return e, nil
}

func (l *Log) view(ctx context.Context, fn func(*badgerdb.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if closed, _ := l.state(); closed {
		return events.ErrClosed
	}
	err := l.db.View(fn)
	if errors.Is(err, badgerdb.ErrDBClosed) {
		return events.ErrClosed
	}
	return err
}

// ReadStream implements events.Log.
func (l *Log) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]events.Event, error) {
	if err := events.ValidateStream(stream); err != nil {
		return nil, err
	}
	if from == 0 {
		from = 1
	}
	var out []events.Event
	err := l.view(ctx, func(txn *badgerdb.Txn) error {
		prefix := streamPrefix(stream)
		// Records are stored inline in the LSM tree (far below the value
		// threshold): prefetching only costs a goroutine per item.
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: prefix})
		defer it.Close()
		want := from
		for it.Seek(streamKey(stream, from)); it.Valid() && (limit <= 0 || len(out) < limit); it.Next() {
			seq := binary.BigEndian.Uint64(it.Item().Key()[len(prefix):])
			if seq != want {
				return &events.RecordError{Stream: stream, StreamSeq: want, Err: fmt.Errorf("%w: stream index jumps from %d to %d", events.ErrCorrupt, want, seq)}
			}
			var g uint64
			if err := it.Item().Value(func(b []byte) error {
				if len(b) != 8 {
					return &events.RecordError{Stream: stream, StreamSeq: seq, Err: fmt.Errorf("%w: index entry of %d bytes", events.ErrCorrupt, len(b))}
				}
				g = binary.BigEndian.Uint64(b)
				return nil
			}); err != nil {
				return err
			}
			e, err := readEvent(txn, g)
			if err != nil {
				return err
			}
			if e.Stream != stream || e.StreamSeq != seq {
				return &events.RecordError{GlobalSeq: g, Stream: stream, StreamSeq: seq, Err: fmt.Errorf("%w: index points at %s/%d", events.ErrCorrupt, e.Stream, e.StreamSeq)}
			}
			out = append(out, e)
			want++
		}
		return nil
	})
	return out, err
}

// ReadAll implements events.Log.
func (l *Log) ReadAll(ctx context.Context, from uint64, limit int) ([]events.Event, error) {
	var out []events.Event
	err := l.ScanAll(ctx, from, func(e events.Event) error {
		out = append(out, e)
		if limit > 0 && len(out) >= limit {
			return errStopScan
		}
		return nil
	})
	return out, err
}

var errStopScan = errors.New("stop scan")

// ScanAll calls fn for every event from global seq from, in order, inside
// one read transaction, without collecting them: the fast path for replay.
// An error from fn stops the scan and is returned.
func (l *Log) ScanAll(ctx context.Context, from uint64, fn func(events.Event) error) error {
	if from == 0 {
		from = 1
	}
	err := l.view(ctx, func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{prefixEvent}})
		defer it.Close()
		want := from
		for it.Seek(eventKey(from)); it.Valid(); it.Next() {
			g := binary.BigEndian.Uint64(it.Item().Key()[1:])
			if g != want {
				return &events.RecordError{GlobalSeq: want, Err: fmt.Errorf("%w: global log jumps from %d to %d", events.ErrCorrupt, want, g)}
			}
			var e events.Event
			if err := it.Item().Value(func(b []byte) (err error) {
				e, err = decodeAt(g, b)
				return err
			}); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
			want++
		}
		return nil
	})
	if errors.Is(err, errStopScan) {
		return nil
	}
	return err
}

// Head implements events.Log.
func (l *Log) Head(ctx context.Context) (uint64, error) {
	var h uint64
	err := l.view(ctx, func(txn *badgerdb.Txn) (err error) {
		h, err = readU64(txn, []byte(keyGlobal))
		return err
	})
	return h, err
}

// StreamHead implements events.Log.
func (l *Log) StreamHead(ctx context.Context, stream string) (uint64, error) {
	if err := events.ValidateStream(stream); err != nil {
		return 0, err
	}
	var h uint64
	err := l.view(ctx, func(txn *badgerdb.Txn) (err error) {
		h, err = readU64(txn, headKey(stream))
		return err
	})
	return h, err
}

// Subscribe implements events.Log.
func (l *Log) Subscribe(ctx context.Context, from uint64) (*events.Subscription, error) {
	if closed, _ := l.state(); closed {
		return nil, events.ErrClosed
	}
	return events.Follow(ctx, l.ReadAll, &l.notifier, from), nil
}

// collectGarbage runs value-log GC on a ticker until Close.
func (l *Log) collectGarbage(interval time.Duration) {
	defer l.stopped.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			for l.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// badgerLogger routes Badger's messages through hclog.
type badgerLogger struct{ l hclog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Trace(fmt.Sprintf(f, a...)) }
