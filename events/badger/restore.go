package badger

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/durablefile"
)

// RestoreStream is the stream Restore writes (events.RestoreStream): a
// skipped_by_restore event at each global sequence between the
// checkpoint's and the highest ever acknowledged, then one log_restored
// event.
const RestoreStream = events.RestoreStream

// Event types Restore writes.
const (
	EventSkippedByRestore = events.EventSkippedByRestore
	EventLogRestored      = events.EventLogRestored
)

// Restore steps, in order, as RestorePlan.OnStep sees them. A crash after
// any of them leaves the old log (up to StepCommitted) or the new one
// (from StepCommitted on), once Open has run: it finishes a committed
// restore and discards an uncommitted one.
const (
	StepStaging    = "staging"      // the checkpoint's records are in the staged directory, not yet closed
	StepStaged     = "staged"       // the staged log is written and closed
	StepChecked    = "checked"      // the staged log opened and verified as a start would
	StepCommitted  = "committed"    // the commit file is durable: from here on the new log wins
	StepOldMoved   = "old-moved"    // the old log is moved aside
	StepNewInPlace = "new-in-place" // the staged log is the log
	StepDone       = "done"         // the old log is removed and the commit file with it
)

// RestorePlan says what Restore puts in a log's place.
type RestorePlan struct {
	Checkpoint string // the checkpoint's id, recorded in the log_restored event
	Seq        uint64 // the global sequence the checkpoint holds the log up to
	// Records calls fn with every key and value of the checkpoint and
	// returns an error if its content does not verify whole; key and value
	// are valid only during the call.
	Records func(fn func(key, value []byte) error) error
	Now     time.Time
	// OnStep, if set, is called after each step (StepStaging...): progress
	// for a log, and the points crash tests kill at.
	OnStep func(step string)
}

// RestoreReport says what Restore did.
type RestoreReport struct {
	Head     uint64 // the restored log's head: the log_restored event
	Replaced uint64 // the highest sequence the replaced log had acknowledged
	// Skipped are the global sequences the checkpoint does not hold and
	// the replaced log had acknowledged, filled with skipped_by_restore.
	Skipped events.SeqRange
}

// Paths beside a log's directory during a restore.
func stagedDir(dir string) string   { return dir + ".restore" }
func stagedMark(dir string) string  { return dir + ".restore.highwater" }
func commitFile(dir string) string  { return dir + ".restore-commit" }
func replacedDir(dir string) string { return dir + ".replaced" }

// restoredPayload is the log_restored event's payload.
type restoredPayload struct {
	Checkpoint    string           `json:"checkpoint"`
	CheckpointSeq uint64           `json:"checkpoint_seq"`
	Replaced      uint64           `json:"replaced_head"`
	Skipped       *events.SeqRange `json:"skipped,omitempty"`
}

// Restore replaces the log in opts.Dir (which no process may have open)
// with plan's checkpoint, atomically: the new log is built and verified in
// a staged directory beside it, a commit file is made durable, and the
// directories are swapped. The log's high-water mark refuses a head below
// the highest sequence ever acknowledged, so the sequences from the
// checkpoint's to that mark are filled with skipped_by_restore events and
// a log_restored event follows them: the history says the state was
// restored, from which checkpoint, and what it replaced.
func Restore(opts Options, plan RestorePlan) (*RestoreReport, error) {
	dir := filepath.Clean(opts.Dir)
	step := func(s string) {
		if plan.OnStep != nil {
			plan.OnStep(s)
		}
	}
	// A restore left half done is finished or discarded first.
	if err := finishRestore(dir); err != nil {
		return nil, err
	}
	replaced, hw, err := acknowledgedHead(dir, opts.markCopy())
	if err != nil {
		return nil, err
	}
	if hw != nil {
		// Held to the end: no daemon opens the log meanwhile.
		defer hw.close()
	}
	report := &RestoreReport{Replaced: replaced}
	staged := stagedDir(dir)
	if err := writeStaged(staged, opts.Profile, plan, replaced, report, step); err != nil {
		_ = os.RemoveAll(staged)
		return nil, err
	}
	step(StepStaged)
	// The staged log must pass the checks a start makes, with a mark copy
	// of its own: the log's outside copy must not move before the commit.
	check, err := Open(Options{Dir: staged, MarkCopy: stagedMark(dir), Profile: opts.Profile, GCInterval: -1, MinFreeBytes: -1})
	if err == nil {
		err = check.Close()
	}
	if err == nil {
		err = os.Remove(stagedMark(dir))
	}
	if err != nil {
		_ = os.RemoveAll(staged)
		_ = os.Remove(stagedMark(dir))
		return nil, fmt.Errorf("the restored log does not verify: %w", err)
	}
	if err := durablefile.SyncDir(filepath.Dir(dir)); err != nil {
		return nil, err
	}
	step(StepChecked)
	if err := writeCommit(dir, plan.Checkpoint); err != nil {
		_ = os.RemoveAll(staged)
		return nil, err
	}
	step(StepCommitted)
	return report, rollForward(dir, step)
}

// acknowledgedHead returns the highest sequence the log in dir has
// acknowledged (its head or its high-water mark, the higher) and holds its
// mark's lock; 0 and no lock when there is no log.
func acknowledgedHead(dir, markCopy string) (uint64, *highWater, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return 0, nil, nil
	}
	hw, mark, _, err := lockHighWater(dir, markCopy)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot lock the event log (is statemgrd running? stop it first): %w", err)
	}
	found, err := collectRecords(dir)
	if err != nil {
		_ = hw.close()
		return 0, nil, err
	}
	return max(mark, found.counter), hw, nil
}

// writeStaged builds the restored log in staged: the checkpoint's records,
// the skipped sequences up to replaced, the log_restored event.
func writeStaged(staged string, profile Profile, plan RestorePlan, replaced uint64, report *RestoreReport, step func(string)) error {
	if err := os.RemoveAll(staged); err != nil {
		return fmt.Errorf("cannot remove %s left by an earlier restore: %w", staged, err)
	}
	bo, err := profile.options(staged)
	if err != nil {
		return err
	}
	db, err := badgerdb.Open(bo)
	if err != nil {
		return fmt.Errorf("cannot create the staged log in %s: %w", staged, err)
	}
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	var restoreSeq uint64 // RestoreStream's head in the checkpoint: an earlier restore's
	restoreHead := string(headKey(RestoreStream))
	err = plan.Records(func(k, v []byte) error {
		if string(k) == restoreHead && len(v) == 8 {
			restoreSeq = binary.BigEndian.Uint64(v)
		}
		return wb.Set(append([]byte(nil), k...), append([]byte(nil), v...))
	})
	if err == nil {
		step(StepStaging)
		err = writeRestoreEvents(wb.Set, plan, replaced, restoreSeq, report)
	}
	if err == nil {
		err = wb.Flush()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write the restored log in %s: %w", staged, err)
	}
	return nil
}

// writeRestoreEvents fills the sequences after the checkpoint's up to
// replaced and appends the log_restored event, all on RestoreStream
// after its head restoreSeq.
func writeRestoreEvents(set func(k, v []byte) error, plan RestorePlan, replaced, restoreSeq uint64, report *RestoreReport) error {
	put := func(g uint64, typ string, payload []byte) error {
		restoreSeq++
		e := events.Event{Stream: RestoreStream, StreamSeq: restoreSeq, GlobalSeq: g, Type: typ, Schema: 1,
			Time: plan.Now, Cause: "restore of checkpoint " + plan.Checkpoint, Payload: payload}
		if err := set(eventKey(g), events.Encode(nil, events.AsStored(e))); err != nil {
			return err
		}
		return set(streamKey(RestoreStream, restoreSeq), u64(g))
	}
	rp := restoredPayload{Checkpoint: plan.Checkpoint, CheckpointSeq: plan.Seq, Replaced: replaced}
	for g := plan.Seq + 1; g <= replaced; g++ {
		payload, _ := json.Marshal(map[string]any{"global_seq": g, "checkpoint": plan.Checkpoint})
		if err := put(g, EventSkippedByRestore, payload); err != nil {
			return err
		}
	}
	if replaced > plan.Seq {
		report.Skipped = events.SeqRange{From: plan.Seq + 1, To: replaced}
		rp.Skipped = &report.Skipped
	}
	report.Head = max(plan.Seq, replaced) + 1
	payload, _ := json.Marshal(rp)
	if err := put(report.Head, EventLogRestored, payload); err != nil {
		return err
	}
	if err := set(headKey(RestoreStream), u64(restoreSeq)); err != nil {
		return err
	}
	return set([]byte(keyGlobal), u64(report.Head))
}

// writeCommit makes the commit file durable: from then on the staged log
// replaces the log, whatever happens.
func writeCommit(dir, checkpoint string) error {
	path := commitFile(dir)
	f, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("cannot write the restore's commit file: %w", err)
	}
	_, err = fmt.Fprintf(f, "restore of checkpoint %s: %s replaces %s\n", checkpoint, stagedDir(dir), dir)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err == nil {
		err = durablefile.SyncDir(filepath.Dir(dir))
	}
	if err != nil {
		_ = os.Remove(path + ".tmp")
		return fmt.Errorf("cannot write the restore's commit file: %w", err)
	}
	return nil
}

// rollForward swaps a committed staged log into place, removes the
// replaced one and then the commit file. Each step can be repeated, so a
// crash anywhere in it is finished by the next finishRestore.
func rollForward(dir string, step func(string)) error {
	parent, staged, old := filepath.Dir(dir), stagedDir(dir), replacedDir(dir)
	if exists(staged) {
		if exists(dir) {
			if err := os.RemoveAll(old); err != nil {
				return fmt.Errorf("cannot finish the restore: %w", err)
			}
			if err := os.Rename(dir, old); err != nil {
				return fmt.Errorf("cannot finish the restore: cannot move the replaced log aside: %w", err)
			}
			if err := durablefile.SyncDir(parent); err != nil {
				return err
			}
		}
		step(StepOldMoved)
		if err := os.Rename(staged, dir); err != nil {
			return fmt.Errorf("cannot finish the restore: cannot put the restored log in place: %w", err)
		}
		if err := durablefile.SyncDir(parent); err != nil {
			return err
		}
	}
	step(StepNewInPlace)
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("cannot finish the restore: cannot remove the replaced log %s: %w", old, err)
	}
	if err := os.Remove(commitFile(dir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot finish the restore: %w", err)
	}
	if err := durablefile.SyncDir(parent); err != nil {
		return err
	}
	step(StepDone)
	return nil
}

// finishRestore completes a restore a crash interrupted, before the log
// in dir is opened: a committed one is rolled forward, an uncommitted
// one's staged log is removed (the old log stands).
func finishRestore(dir string) error {
	dir = filepath.Clean(dir)
	if exists(commitFile(dir)) {
		return rollForward(dir, func(string) {})
	}
	for _, left := range []string{stagedDir(dir), stagedMark(dir), commitFile(dir) + ".tmp"} {
		if err := os.RemoveAll(left); err != nil {
			return fmt.Errorf("cannot remove %s left by an interrupted restore: %w", left, err)
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
