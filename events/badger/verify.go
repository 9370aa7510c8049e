package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/durablefile"
)

// Badger trusts its files: a torn or bit-flipped table panics inside one of
// its goroutines (no recover can catch it), a missing MANIFEST makes it
// delete every table as if the directory were new, a truncated one makes it
// delete the tables the lost entries listed, and a damaged write-ahead log
// is cut at the first bad entry without a word. So the log checks the files
// before Badger sees them (preflight) and every record after it opened them
// (verifyRecords), and refuses to start with an *events.DamageError rather
// than lose acknowledged records.

// damageReport accumulates what the checks find.
type damageReport struct {
	problems []string
	missing  []events.SeqRange
}

// maxReportedRanges bounds the report of a badly damaged log.
const maxReportedRanges = 64

func (d *damageReport) add(format string, a ...any) {
	d.problems = append(d.problems, fmt.Sprintf(format, a...))
}

// lose records global sequences from..to as missing, merging a range that
// continues the previous one.
func (d *damageReport) lose(from, to uint64) {
	if n := len(d.missing); n > 0 && d.missing[n-1].To+1 >= from {
		d.missing[n-1].To = max(d.missing[n-1].To, to)
		return
	}
	if len(d.missing) == maxReportedRanges {
		d.missing[maxReportedRanges-1].To = to
		return
	}
	d.missing = append(d.missing, events.SeqRange{From: from, To: to})
}

func (d *damageReport) err(dir string) error {
	if len(d.problems) == 0 && len(d.missing) == 0 {
		return nil
	}
	return &events.DamageError{Dir: dir, Problems: d.problems, Missing: d.missing}
}

// damagedDir is where the log moves files aside instead of deleting them.
const damagedDir = "damaged"

// preflight checks dir's files before Badger opens them. highWater is the
// high-water mark (0 for none). It returns the damage found and the tables
// that no MANIFEST entry lists, which Badger would delete; a crash between
// writing a table and listing it leaves such a table legitimately (its
// entries are still in the write-ahead log), a truncated MANIFEST leaves
// tables that hold the only copy of records.
func preflight(dir string, bo badgerdb.Options, highWater uint64, logger hclog.Logger) (d damageReport, orphans []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return d, nil, fmt.Errorf("cannot list the event log's directory: %w", err)
	}
	tables := map[uint64]string{}
	var logFiles []string
	for _, e := range entries {
		name := e.Name()
		if id, ok := table.ParseFileID(name); ok && strings.HasSuffix(name, ".sst") {
			tables[id] = name
		}
		if strings.HasSuffix(name, ".vlog") || strings.HasSuffix(name, ".mem") {
			logFiles = append(logFiles, name)
		}
	}
	for _, name := range logFiles {
		if err := checkLogTail(filepath.Join(dir, name), highWater, &d); err != nil {
			return d, nil, err
		}
	}
	if len(d.problems) > 0 {
		return d, nil, nil
	}
	mf, err := os.Open(filepath.Join(dir, badgerdb.ManifestFilename))
	if errors.Is(err, fs.ErrNotExist) {
		if len(tables) > 0 || len(logFiles) > 0 || highWater > 0 {
			d.add("MANIFEST is missing beside %d tables and %d log files (high-water mark %d): this is not a new log, and Badger would delete the tables",
				len(tables), len(logFiles), highWater)
			if highWater > 0 {
				d.lose(1, highWater)
			}
		}
		return d, nil, nil
	}
	if err != nil {
		return d, nil, fmt.Errorf("cannot open the event log's MANIFEST: %w", err)
	}
	defer mf.Close()
	manifest, err := replayManifest(mf, bo)
	if err != nil {
		d.add("MANIFEST: %v", err)
		return d, nil, nil
	}
	for id, tm := range manifest.Tables {
		name, ok := tables[id]
		if !ok {
			d.add("table %s listed in the MANIFEST is missing", filepath.Base(table.NewFilename(id, dir)))
			continue
		}
		delete(tables, id)
		if err := verifyTable(filepath.Join(dir, name), tm, bo); err != nil {
			d.add("table %s: %v", name, err)
		}
	}
	for _, name := range tables {
		orphans = append(orphans, name)
	}
	if err := checkKeyRegistry(dir, logger); err != nil {
		return d, nil, err
	}
	return d, orphans, nil
}

// replayManifest reads the MANIFEST as Badger will, without panicking on
// garbage.
func replayManifest(f *os.File, bo badgerdb.Options) (m badgerdb.Manifest, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable (%v)", r)
		}
	}()
	m, _, err = badgerdb.ReplayManifestFile(f, bo.ExternalMagicVersion, bo)
	return m, err
}

// verifyTable opens one table as Badger will and verifies the checksum of
// every block. Badger panics on a table it cannot parse; here the panic is
// this goroutine's and becomes the error.
func verifyTable(path string, tm badgerdb.TableManifest, bo badgerdb.Options) (err error) {
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		if errors.Is(err, z.NewFile) {
			return errors.New("empty file")
		}
		return err
	}
	size := len(mf.Data)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("its footer or index is damaged or the file is truncated (%d bytes); Badger could not parse it", size)
		}
		_ = mf.Close(-1)
	}()
	if tm.KeyID != 0 {
		return fmt.Errorf("encrypted with key %d, and this log never encrypts", tm.KeyID)
	}
	_, err = table.OpenTable(mf, table.Options{ReadOnly: true, ChkMode: options.OnTableRead,
		Compression: tm.Compression, BlockSize: bo.BlockSize, TableSize: uint64(bo.BaseTableSize)})
	return err
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// checkKeyRegistry replaces a damaged KEYREGISTRY. The log never encrypts,
// so the registry holds no key, only a checksummed sanity text; Badger
// refuses a damaged one ("Encryption key mismatch", "Invalid datakey id")
// although nothing is lost. The damaged file is kept in damagedDir and
// Badger writes a new one.
func checkKeyRegistry(dir string, logger hclog.Logger) error {
	path := filepath.Join(dir, badgerdb.KeyRegistryFileName)
	if _, err := os.Stat(path); err != nil {
		return nil // Badger creates a missing one
	}
	kr, err := badgerdb.OpenKeyRegistry(badgerdb.KeyRegistryOptions{Dir: dir, ReadOnly: true})
	if err == nil {
		return kr.Close()
	}
	moved, merr := moveAside(dir, badgerdb.KeyRegistryFileName)
	if merr != nil {
		return merr
	}
	logger.Warn("the key registry was damaged and holds no key (the log is not encrypted); replaced, the damaged file kept",
		"error", err, "kept", moved)
	return nil
}

// moveAside moves dir/name into dir/damaged, returning the new path. A
// name already taken there gets a numbered suffix: nothing set aside is
// ever overwritten.
func moveAside(dir, name string) (string, error) {
	to := filepath.Join(dir, damagedDir)
	if err := os.MkdirAll(to, 0o750); err != nil {
		return "", fmt.Errorf("cannot create %s: %w", to, err)
	}
	dst := filepath.Join(to, name)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = filepath.Join(to, fmt.Sprintf("%s.%d", name, i))
	}
	if err := os.Rename(filepath.Join(dir, name), dst); err != nil {
		return "", fmt.Errorf("cannot move %s aside: %w", name, err)
	}
	return dst, durablefile.SyncDir(dir)
}

// withSetAside adds to a damage report the tables kept in damaged/ (by
// this start or an earlier one), which may hold the missing records.
func withSetAside(err error, dir string) error {
	var report *events.DamageError
	if !errors.As(err, &report) {
		return err
	}
	kept, _ := filepath.Glob(filepath.Join(dir, damagedDir, "*.sst*"))
	if len(kept) == 0 {
		return err
	}
	names := make([]string, len(kept))
	for i, p := range kept {
		names[i] = filepath.Base(p)
	}
	report.Problems = append(report.Problems, fmt.Sprintf(
		"tables that no MANIFEST entry lists (a truncated MANIFEST?) are kept in %s/: %s", damagedDir, strings.Join(names, ", ")))
	return report
}

// verifyRecords reads every record of the open database: the global
// sequences must run without a gap from 1 to the head, and to at least the
// high-water mark, and every record must pass its checksum.
func verifyRecords(db *badgerdb.DB, highWater uint64, d *damageReport) (head uint64, err error) {
	err = db.View(func(txn *badgerdb.Txn) error {
		if head, err = readU64(txn, []byte(keyGlobal)); err != nil {
			d.add("the global head: %v", err)
		}
		it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte{prefixEvent}})
		defer it.Close()
		var last, unreadable, absent uint64
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if len(item.Key()) != 9 {
				d.add("a record key of %d bytes", len(item.Key()))
				continue
			}
			g := binary.BigEndian.Uint64(item.Key()[1:])
			if g > last+1 {
				d.lose(last+1, g-1)
				absent += g - 1 - last
			}
			last = g
			if err := item.Value(func(b []byte) error { _, err := decodeAt(g, b); return err }); err != nil {
				d.lose(g, g)
				unreadable++
			}
		}
		switch {
		case last > head:
			d.add("records run to global sequence %d beyond the head %d", last, head)
		case last < head:
			d.lose(last+1, head)
			absent += head - last
		}
		if unreadable > 0 {
			d.add("%d records fail their checksum or cannot be read (a damaged value log or table)", unreadable)
		}
		if absent > 0 {
			d.add("%d records below the head are absent (a damaged or lost table or write-ahead log)", absent)
		}
		if top := max(head, last); highWater > top {
			d.add("the log ends at global sequence %d, below the %d acknowledged (high-water mark): the end of its write-ahead log was lost", top, highWater)
			d.lose(top+1, highWater)
		}
		head = max(head, last)
		return nil
	})
	return head, err
}
