package badger

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/durablefile"
)

// SalvageStream is the stream Salvage writes: a record_lost event at each
// global sequence it could not keep, then one log_salvaged event.
const SalvageStream = "salvage"

// Event types Salvage writes.
const (
	EventRecordLost  = "record_lost"
	EventLogSalvaged = "log_salvaged"
)

// SalvageReport says what Salvage kept and lost.
type SalvageReport struct {
	Kept uint64 // records kept at their global and stream sequences
	// Lost are the global sequences no file held a verifiable record of.
	Lost []events.SeqRange
	// Dropped are verified records that follow a lost record of their
	// stream: a stream must run without a gap to replay, so they are kept
	// only inside their record_lost event's payload.
	Dropped []events.SeqRange
	Head    uint64 // the salvaged log's head: its log_salvaged event
	// DamagedDir is where the damaged directory was moved, untouched
	// since Salvage started, for a later look or a restore.
	DamagedDir string
	Sources    []string // what was read, and what could not be
}

func (r *SalvageReport) String() string {
	ranges := func(rs []events.SeqRange) string {
		if len(rs) == 0 {
			return "none"
		}
		s := make([]string, len(rs))
		for i, r := range rs {
			s[i] = r.String()
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("salvaged the event log: kept %d records, lost global sequences %s, dropped %s (after a lost record of their stream); the loss is the log_salvaged event at global sequence %d; the damaged files are in %s",
		r.Kept, ranges(r.Lost), ranges(r.Dropped), r.Head, r.DamagedDir)
}

// lostPayload is a record_lost event's payload.
type lostPayload struct {
	GlobalSeq uint64 `json:"global_seq"`
	Reason    string `json:"reason"`
	// The dropped record, when it verified: its place and its encoding.
	Stream    string `json:"stream,omitempty"`
	StreamSeq uint64 `json:"stream_seq,omitempty"`
	Type      string `json:"type,omitempty"`
	Record    []byte `json:"record,omitempty"`
}

// salvagedPayload is the log_salvaged event's payload.
type salvagedPayload struct {
	Kept       uint64            `json:"kept"`
	Lost       []events.SeqRange `json:"lost"`
	Dropped    []events.SeqRange `json:"dropped"`
	DamagedDir string            `json:"damaged_dir"`
	Sources    []string          `json:"sources"`
}

// Salvage rebuilds a damaged log in opts.Dir from every record that
// verifies, wherever it is: each write-ahead log, value log and table
// (listed by the MANIFEST or not) is read directly, entry by entry, past
// any damage, and each record must pass its own checksum (events.Decode)
// and sit at the global sequence it names. The new log keeps those records
// at their sequences, fills every global sequence it cannot keep up to the
// high-water mark with a record_lost event in stream SalvageStream and
// ends with a log_salvaged event, so no acknowledged sequence is reused
// and subscribers see the loss. Snapshots are not kept: they are derived
// and recovery replays. The damaged directory is moved beside the new one,
// not deleted. now stamps the events and names the moved directory.
func Salvage(opts Options, now time.Time) (*SalvageReport, error) {
	dir := filepath.Clean(opts.Dir)
	markCopy := opts.markCopy()
	hw, mark, _, err := lockHighWater(dir, markCopy)
	if err != nil {
		return nil, err
	}
	defer hw.close()
	found, err := collectRecords(dir)
	if err != nil {
		return nil, err
	}
	top := max(mark, found.counter)
	for g := range found.records {
		top = max(top, g)
	}
	report := &SalvageReport{Sources: found.sources,
		DamagedDir: dir + ".damaged-" + now.UTC().Format("20060102T150405Z")}
	tmp := dir + ".salvage"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("cannot remove %s left by an earlier salvage: %w", tmp, err)
	}
	if err := writeSalvaged(tmp, markCopy, opts.Profile, found.records, top, now, report); err != nil {
		return nil, fmt.Errorf("cannot write the salvaged log in %s: %w", tmp, err)
	}
	// The rebuilt log must pass the checks a start makes.
	// It takes the mark's outside copy, which stays where it is.
	check, err := Open(Options{Dir: tmp, MarkCopy: markCopy, Profile: opts.Profile, GCInterval: -1, MinFreeBytes: -1})
	if err != nil {
		return nil, fmt.Errorf("the salvaged log in %s does not verify: %w", tmp, err)
	}
	if err := check.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(dir, report.DamagedDir); err != nil {
		return nil, fmt.Errorf("cannot move the damaged log aside: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("cannot put the salvaged log in place (it is in %s, the damaged one in %s): %w", tmp, report.DamagedDir, err)
	}
	return report, durablefile.SyncDir(filepath.Dir(dir))
}

// foundRecords is what collectRecords read.
type foundRecords struct {
	records map[uint64][]byte // verified encoded records by global seq
	counter uint64            // the highest global head key seen
	sources []string
}

// collectRecords reads every verifiable record in dir's files.
func collectRecords(dir string) (*foundRecords, error) {
	f := &foundRecords{records: make(map[uint64][]byte)}
	take := func(key, value []byte) {
		if len(key) < 8 {
			return
		}
		key = key[:len(key)-8] // Badger's version suffix
		switch {
		case len(key) == 1 && key[0] == keyGlobal[0] && len(value) == 8:
			f.counter = max(f.counter, binary.BigEndian.Uint64(value))
		case len(key) == 9 && key[0] == prefixEvent:
			g := binary.BigEndian.Uint64(key[1:])
			if _, ok := f.records[g]; ok {
				return
			}
			if _, err := decodeAt(g, value); err == nil {
				f.records[g] = slices.Clone(value)
			}
		}
	}
	var logs, tables []string
	for _, pattern := range []string{"*.mem", "*.vlog", "*.sst", damagedDir + "/*.sst*"} {
		paths, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(pattern, ".mem") || strings.HasSuffix(pattern, ".vlog") {
			logs = append(logs, paths...)
		} else {
			tables = append(tables, paths...)
		}
	}
	for _, p := range logs {
		n, err := scanLogFile(p, take)
		f.note(p, n, err)
	}
	for _, p := range tables {
		n, err := scanTable(p, take)
		f.note(p, n, err)
	}
	return f, nil
}

func (f *foundRecords) note(path string, entries int, err error) {
	s := fmt.Sprintf("%s: %d entries", filepath.Base(path), entries)
	if err != nil {
		s += fmt.Sprintf(" (then: %v)", err)
	}
	f.sources = append(f.sources, s)
}

// Badger's log entry (write-ahead and value logs, after a 20-byte file
// header): meta, user meta, uvarint key length, value length, expiry, the
// key, the value and a big-endian CRC-32C of all of it.
const (
	logFileHeader    = 20
	bitValuePointer  = 1 << 1
	maxSalvageKeyLen = 64
)

// scanLogFile calls take for every entry of a Badger log file whose
// checksum verifies. Unlike Badger's replay it does not stop at the first
// bad entry: it steps a byte at a time to the next one that verifies.
func scanLogFile(path string, take func(key, value []byte)) (int, error) {
	data, done, err := mapFile(path)
	if err != nil {
		return 0, err
	}
	defer done()
	n := 0
	scanEntries(data, logFileHeader, func(_ int, key, value []byte) {
		if value != nil {
			take(key, value)
			n++
		}
	})
	return n, nil
}

// scanEntries calls fn for each entry that verifies in data from off on,
// skipping what does not (zeros fast: a preallocated log is mostly zeros).
func scanEntries(data []byte, off int, fn func(off int, key, value []byte)) {
	for off+6 < len(data) {
		if data[off] == 0 && data[off+2] == 0 { // no key: not an entry
			off++
			continue
		}
		size, key, value, ok := logEntryAt(data[off:])
		if !ok {
			off++
			continue
		}
		fn(off, key, value)
		off += size
	}
}

// intactEnd is where Badger's replay of data stops: the end of the entries
// that verify one after the other from the file header.
func intactEnd(data []byte) int {
	off := logFileHeader
	for off+6 < len(data) {
		size, _, _, ok := logEntryAt(data[off:])
		if !ok {
			break
		}
		off += size
	}
	return off
}

// eventSeq returns the global sequence of a log entry's key (with
// Badger's version suffix) if it is an event record's.
func eventSeq(key []byte) (uint64, bool) {
	if len(key) != 9+8 || key[0] != prefixEvent {
		return 0, false
	}
	return binary.BigEndian.Uint64(key[1:9]), true
}

// checkLogTail finds acknowledged records (global sequence up to
// highWater) past the point where Badger's replay of a write-ahead or
// value log would stop, and would cut the file: a flipped or zeroed range
// in the middle of the log. Found before Badger opens the file, they are
// still there for a salvage. A torn write at the end (a crash) leaves no
// acknowledged record behind it: the mark moves only after the sync.
func checkLogTail(path string, highWater uint64, d *damageReport) error {
	data, done, err := mapFile(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer done()
	end := intactEnd(data)
	var before, from, to uint64
	var n int
	scanEntries(data, logFileHeader, func(off int, key, _ []byte) {
		g, ok := eventSeq(key)
		switch {
		case !ok:
		case off < end:
			before = max(before, g)
		case g <= highWater && off > end:
			n++
			from, to = min(from, g), max(to, g)
			if from == 0 {
				from = g
			}
		}
	})
	if n > 0 {
		d.add("%s is damaged at byte %d: %d acknowledged records (global sequences up to %d) follow the damage, and Badger would drop them",
			filepath.Base(path), end, n, to)
		d.lose(before+1, to)
	}
	return nil
}

// logEntryAt decodes the entry at the start of b. value is nil for an
// entry whose value is elsewhere (a value pointer) or a transaction mark.
func logEntryAt(b []byte) (size int, key, value []byte, ok bool) {
	meta, i := b[0], 2
	klen, n := binary.Uvarint(b[i:])
	if n <= 0 || klen == 0 || klen > maxSalvageKeyLen {
		return 0, nil, nil, false
	}
	i += n
	vlen, n := binary.Uvarint(b[i:])
	if n <= 0 || vlen > uint64(len(b)) {
		return 0, nil, nil, false
	}
	i += n
	if _, n = binary.Uvarint(b[i:]); n <= 0 {
		return 0, nil, nil, false
	}
	i += n
	end := i + int(klen) + int(vlen)
	if end+4 > len(b) || crc32.Checksum(b[:end], castagnoli) != binary.BigEndian.Uint32(b[end:]) {
		return 0, nil, nil, false
	}
	key = b[i : i+int(klen)]
	if meta&bitValuePointer == 0 {
		value = b[i+int(klen) : end]
	}
	return end + 4, key, value, true
}

// scanTable calls take for every entry of a table, until a damaged block.
func scanTable(path string, take func(key, value []byte)) (n int, err error) {
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	var t *table.Table
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("damaged: %v", firstLine(fmt.Sprint(r)))
		}
		if t != nil {
			_ = t.DecrRef()
		} else {
			_ = mf.Close(-1)
		}
	}()
	t, err = table.OpenTable(mf, table.Options{ReadOnly: true, ChkMode: options.OnBlockRead, Compression: options.None})
	if err != nil {
		return 0, err
	}
	it := t.NewIterator(0)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v := it.ValueCopy()
		if v.Meta&bitValuePointer == 0 {
			take(it.Key(), v.Value)
			n++
		}
	}
	return n, nil
}

// mapFile maps path read-only: a value log is too large to read into a
// BMC's heap.
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil, func() {}, err
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot map %s: %w", path, err)
	}
	return data, func() { _ = syscall.Munmap(data) }, nil
}

// writeSalvaged writes the salvaged log into a new directory: the records
// that keep their streams gap-free, a record_lost event at every other
// global sequence up to top, and the log_salvaged event.
func writeSalvaged(dir, markCopy string, profile Profile, records map[uint64][]byte, top uint64, now time.Time, report *SalvageReport) error {
	bo, err := profile.options(dir)
	if err != nil {
		return err
	}
	db, err := badgerdb.Open(bo)
	if err != nil {
		return err
	}
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	set := func(k, v []byte) {
		if err == nil {
			err = wb.Set(k, v)
		}
	}
	heads := map[string]uint64{}
	broken := map[string]bool{}
	var salvageSeq uint64
	lost := func(g uint64, p lostPayload) {
		p.GlobalSeq = g
		payload, _ := json.Marshal(p)
		salvageSeq++
		e := events.Event{Stream: SalvageStream, StreamSeq: salvageSeq, GlobalSeq: g, Type: EventRecordLost, Schema: 1,
			Time: now, Cause: "statemgrd --salvage", Payload: payload}
		set(eventKey(g), events.Encode(nil, events.AsStored(e)))
		set(streamKey(SalvageStream, salvageSeq), u64(g))
	}
	for g := uint64(1); g <= top; g++ {
		rec, ok := records[g]
		if !ok {
			lost(g, lostPayload{Reason: "no file holds a record of it that verifies"})
			report.Lost = appendSeq(report.Lost, g)
			continue
		}
		e, _ := decodeAt(g, rec)
		head := heads[e.Stream]
		if e.Stream == SalvageStream { // an earlier salvage's, after this one's record_lost events
			head = salvageSeq
		}
		if broken[e.Stream] || e.StreamSeq != head+1 {
			broken[e.Stream] = true
			lost(g, lostPayload{Reason: "it follows a lost record of its stream", Stream: e.Stream, StreamSeq: e.StreamSeq, Type: e.Type, Record: rec})
			report.Dropped = appendSeq(report.Dropped, g)
			continue
		}
		set(eventKey(g), rec)
		set(streamKey(e.Stream, e.StreamSeq), u64(g))
		if e.IdempotencyKey != "" {
			set(idempotencyKey(e.Stream, e.IdempotencyKey), u64(e.StreamSeq))
		}
		heads[e.Stream] = e.StreamSeq
		if e.Stream == SalvageStream {
			salvageSeq = e.StreamSeq
		}
		report.Kept++
	}
	report.Head = top + 1
	payload, _ := json.Marshal(salvagedPayload{Kept: report.Kept, Lost: report.Lost, Dropped: report.Dropped,
		DamagedDir: report.DamagedDir, Sources: report.Sources})
	salvageSeq++
	done := events.Event{Stream: SalvageStream, StreamSeq: salvageSeq, GlobalSeq: report.Head, Type: EventLogSalvaged, Schema: 1,
		Time: now, Cause: "statemgrd --salvage", Payload: payload}
	set(eventKey(report.Head), events.Encode(nil, events.AsStored(done)))
	set(streamKey(SalvageStream, salvageSeq), u64(report.Head))
	heads[SalvageStream] = salvageSeq
	for s, h := range heads {
		set(headKey(s), u64(h))
	}
	set([]byte(keyGlobal), u64(report.Head))
	if err == nil {
		err = wb.Flush()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	hw, _, _, err := lockHighWater(dir, markCopy)
	if err != nil {
		return err
	}
	defer hw.close()
	return hw.reset(report.Head)
}

// appendSeq adds g to ranges, extending the last range when it continues.
func appendSeq(ranges []events.SeqRange, g uint64) []events.SeqRange {
	if n := len(ranges); n > 0 && ranges[n-1].To+1 == g {
		ranges[n-1].To = g
		return ranges
	}
	return append(ranges, events.SeqRange{From: g, To: g})
}

// errNothingToSalvage is returned by SalvageIfDamaged for a log that opens.
var errNothingToSalvage = errors.New("the event log verifies: nothing to salvage")

// SalvageIfDamaged salvages the log in opts.Dir only if Open refuses it
// as damaged; otherwise it returns an error that says why not.
func SalvageIfDamaged(opts Options, now time.Time) (*SalvageReport, error) {
	if _, err := os.Stat(opts.Dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no event log in %s: nothing to salvage", opts.Dir)
	}
	opts.GCInterval, opts.MinFreeBytes = -1, -1
	l, err := Open(opts)
	if err == nil {
		_ = l.Close()
		return nil, errNothingToSalvage
	}
	if !errors.Is(err, events.ErrDamaged) {
		return nil, fmt.Errorf("cannot salvage: %w", err)
	}
	return Salvage(opts, now)
}
