package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

// FromStore replaces the event log in opts.Dir (statemgrd stopped) with
// checkpoint id of store. Before anything is written it checks the
// checkpoint whole against its manifest (ErrCorrupt, ErrUnknownFormat)
// and its platform against the one in force (ErrPlatformMismatch): the
// state of other components means nothing to this platform. The swap
// itself is badger.Restore's: atomic, the skipped sequences filled and a
// log_restored event recorded. onStep, if set, sees badger's steps.
func FromStore(ctx context.Context, store checkpoint.Store, id string, inForce checkpoint.PlatformSource, opts badger.Options, now time.Time, onStep func(string)) (checkpoint.Manifest, *badger.RestoreReport, error) {
	if _, _, err := checkpoint.ParseID(id); err != nil {
		return checkpoint.Manifest{}, nil, err
	}
	man, err := store.Stat(ctx, id)
	if err != nil {
		return checkpoint.Manifest{}, nil, fmt.Errorf("cannot read checkpoint %s in %s: %w", id, store.Where(), err)
	}
	if err := man.Check(); err != nil {
		return man, nil, err
	}
	want := inForce.Ref()
	if man.Platform.SHA256 != want.SHA256 {
		return man, nil, fmt.Errorf("%w: checkpoint %s was taken under platform %s (BMC %s, SHA-256 %s), statemgrd runs %s (BMC %s, SHA-256 %s): start statemgrd with the checkpoint's platform file, or restore a checkpoint taken under this one",
			checkpoint.ErrPlatformMismatch, id, man.Platform.File, man.Platform.BMC, man.Platform.SHA256, want.File, want.BMC, want.SHA256)
	}
	read := func(record func(k, v []byte) error) error {
		m, rc, err := store.Open(ctx, id)
		if err != nil {
			return fmt.Errorf("cannot read checkpoint %s in %s: %w", id, store.Where(), err)
		}
		defer rc.Close()
		if m != man {
			return fmt.Errorf("%w: checkpoint %s changed in %s while it was restored", checkpoint.ErrCorrupt, id, store.Where())
		}
		return checkpoint.Read(rc, m, checkpoint.Visitor{Record: record, Platform: func(file string, src []byte) error {
			if sum := sha256.Sum256(src); hex.EncodeToString(sum[:]) != m.Platform.SHA256 {
				return fmt.Errorf("%w: %s: its platform file's text does not match its manifest's SHA-256", checkpoint.ErrCorrupt, id)
			}
			return nil
		}})
	}
	// The first pass only checks: nothing is written unless the whole
	// checkpoint verifies. The second, which builds the log, checks again.
	if err := read(nil); err != nil {
		return man, nil, err
	}
	report, err := badger.Restore(opts, badger.RestorePlan{Checkpoint: id, Seq: man.Seq, Records: read, Now: now, OnStep: onStep})
	if err != nil {
		return man, nil, fmt.Errorf("cannot restore checkpoint %s: %w", id, err)
	}
	return man, report, nil
}
