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
// checkpoint id of store: Verify, then Apply. onStep, if set, sees
// badger's steps.
func FromStore(ctx context.Context, store checkpoint.Store, id string, inForce checkpoint.PlatformSource, opts badger.Options, now time.Time, onStep func(string)) (checkpoint.Manifest, *badger.RestoreReport, error) {
	man, err := Verify(ctx, store, id, inForce)
	if err != nil {
		return man, nil, err
	}
	report, err := Apply(ctx, store, man, opts, now, onStep)
	return man, report, err
}

// Verify checks checkpoint id of store whole against its manifest
// (ErrCorrupt, ErrUnknownFormat) and its platform against the one in
// force (ErrPlatformMismatch: the state of other components means nothing
// to this platform), the platform first. It writes nothing, so a running
// daemon calls it before it stops for Apply.
func Verify(ctx context.Context, store checkpoint.Store, id string, inForce checkpoint.PlatformSource) (checkpoint.Manifest, error) {
	if _, _, err := checkpoint.ParseID(id); err != nil {
		return checkpoint.Manifest{}, err
	}
	man, err := store.Stat(ctx, id)
	if err != nil {
		return checkpoint.Manifest{}, fmt.Errorf("cannot read checkpoint %s in %s: %w", id, store.Where(), err)
	}
	want := inForce.Ref()
	if man.Platform.SHA256 != want.SHA256 {
		return man, fmt.Errorf("%w: checkpoint %s was taken under platform %s (BMC %s, SHA-256 %s), statemgrd runs %s (BMC %s, SHA-256 %s): start statemgrd with the checkpoint's platform file, or restore a checkpoint taken under this one",
			checkpoint.ErrPlatformMismatch, id, man.Platform.File, man.Platform.BMC, man.Platform.SHA256, want.File, want.BMC, want.SHA256)
	}
	if err := man.Check(); err != nil {
		return man, err
	}
	return man, readChecked(ctx, store, man, nil)
}

// Apply replaces the event log in opts.Dir (which no process may have
// open) with the checkpoint man describes, as Verify found it: the
// content is checked again as it is copied, and a checkpoint changed
// since is ErrCorrupt with the old log in place. The swap is
// badger.Restore's: atomic, the skipped sequences filled and a
// log_restored event recorded.
func Apply(ctx context.Context, store checkpoint.Store, man checkpoint.Manifest, opts badger.Options, now time.Time, onStep func(string)) (*badger.RestoreReport, error) {
	report, err := badger.Restore(opts, badger.RestorePlan{Checkpoint: man.ID, Seq: man.Seq, Now: now, OnStep: onStep,
		Records: func(record func(k, v []byte) error) error { return readChecked(ctx, store, man, record) }})
	if err != nil {
		return nil, fmt.Errorf("cannot restore checkpoint %s: %w", man.ID, err)
	}
	return report, nil
}

// readChecked reads checkpoint man of store, checking it against man as
// it goes, and gives record (if set) each key and value.
func readChecked(ctx context.Context, store checkpoint.Store, man checkpoint.Manifest, record func(k, v []byte) error) error {
	id := man.ID
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
