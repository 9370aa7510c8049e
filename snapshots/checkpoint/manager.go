package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Source is the durable state a checkpoint copies: events/badger's Log.
type Source interface {
	// Export calls fn with every key and value of the state as of one
	// consistent moment and returns the global sequence of that moment.
	Export(ctx context.Context, fn func(key, value []byte) error) (seq uint64, err error)
}

// PlatformSource is the platform in force, as its file's text.
type PlatformSource struct {
	File   string // path, or platform.DefaultFile
	BMC    string // the BMC's name in it
	Source []byte
}

// Ref returns the Platform a manifest names for p.
func (p PlatformSource) Ref() Platform {
	sum := sha256.Sum256(p.Source)
	return Platform{File: p.File, BMC: p.BMC, SHA256: hex.EncodeToString(sum[:])}
}

// Config configures a Manager.
type Config struct {
	Source   Source
	Store    Store
	Platform PlatformSource
	Now      func() time.Time // the daemon's clock
	// Keep is how many checkpoints Create leaves in the store, the newest;
	// older ones are deleted after each Create. 0 keeps all.
	Keep int
	// SpoolDir holds a checkpoint's content while it is written and until
	// the store has it ("" = os.TempDir()): the content's checksum must be
	// known before the store lists it.
	SpoolDir string
	Version  string // statemgr's version, recorded in manifests
}

// Manager creates, lists and deletes checkpoints in one store, one Create
// at a time.
type Manager struct {
	cfg      Config
	creating sync.Mutex
}

// NewManager checks cfg and returns a Manager.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Source == nil || cfg.Store == nil || cfg.Now == nil {
		return nil, errors.New("cannot create the checkpoint manager: Config needs Source, Store and Now")
	}
	if cfg.Keep < 0 {
		return nil, fmt.Errorf("cannot create the checkpoint manager: keep is %d, want 0 (all) or more", cfg.Keep)
	}
	return &Manager{cfg: cfg}, nil
}

// Store returns the store the Manager keeps its checkpoints in (a
// restore reads it).
func (m *Manager) Store() Store { return m.cfg.Store }

// Created is the outcome of Create.
type Created struct {
	Manifest Manifest
	// Deleted are the checkpoints retention removed after it.
	Deleted []string
	// PruneError says why retention could not remove older checkpoints;
	// the new checkpoint is stored all the same.
	PruneError error
}

// Create writes a checkpoint of the state as of now, stores it, and then
// deletes all but the newest Keep. ErrInProgress while another runs.
func (m *Manager) Create(ctx context.Context) (Created, error) {
	if !m.creating.TryLock() {
		return Created{}, ErrInProgress
	}
	defer m.creating.Unlock()
	spool, err := os.CreateTemp(m.cfg.SpoolDir, "statemgr-checkpoint-*.spool")
	if err != nil {
		return Created{}, fmt.Errorf("cannot create the checkpoint's spool file: %w", err)
	}
	defer func() {
		_ = spool.Close()
		_ = os.Remove(spool.Name())
	}()
	now := m.cfg.Now().UTC().Truncate(time.Millisecond)
	man := Manifest{Format: Format, Time: now, Platform: m.cfg.Platform.Ref(), Version: m.cfg.Version}
	w := NewWriter(spool, m.cfg.Platform.File, m.cfg.Platform.Source)
	seq, err := m.cfg.Source.Export(ctx, w.Record)
	if err != nil {
		return Created{}, fmt.Errorf("cannot copy the state: %w", err)
	}
	if err := w.Close(seq, &man); err != nil {
		return Created{}, err
	}
	man.ID = NewID(now, seq)
	if _, err := spool.Seek(0, 0); err != nil {
		return Created{}, fmt.Errorf("cannot read the checkpoint's spool file: %w", err)
	}
	if err := m.cfg.Store.Put(ctx, man, spool); err != nil {
		return Created{}, fmt.Errorf("cannot store checkpoint %s in %s: %w", man.ID, m.cfg.Store.Where(), err)
	}
	out := Created{Manifest: man}
	out.Deleted, out.PruneError = m.prune(ctx)
	return out, nil
}

// prune deletes all but the newest Keep checkpoints.
func (m *Manager) prune(ctx context.Context) ([]string, error) {
	if m.cfg.Keep == 0 {
		return nil, nil
	}
	all, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	for i := m.cfg.Keep; i < len(all); i++ {
		if err := m.cfg.Store.Delete(ctx, all[i].ID); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("cannot delete checkpoint %s: %w", all[i].ID, err))
			continue
		}
		deleted = append(deleted, all[i].ID)
	}
	return deleted, errors.Join(errs...)
}

// List returns the stored checkpoints, newest first.
func (m *Manager) List(ctx context.Context) ([]Manifest, error) {
	all, err := m.cfg.Store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot list checkpoints in %s: %w", m.cfg.Store.Where(), err)
	}
	Sort(all)
	return all, nil
}

// Show returns a checkpoint's manifest. With verify, it also reads the
// whole content and checks it against the manifest (ErrCorrupt).
func (m *Manager) Show(ctx context.Context, id string, verify bool) (Manifest, error) {
	if _, _, err := ParseID(id); err != nil {
		return Manifest{}, err
	}
	if !verify {
		man, err := m.cfg.Store.Stat(ctx, id)
		if err != nil {
			return Manifest{}, fmt.Errorf("cannot read checkpoint %s in %s: %w", id, m.cfg.Store.Where(), err)
		}
		return man, nil
	}
	man, rc, err := m.cfg.Store.Open(ctx, id)
	if err != nil {
		return Manifest{}, fmt.Errorf("cannot read checkpoint %s in %s: %w", id, m.cfg.Store.Where(), err)
	}
	defer rc.Close()
	if err := Read(rc, man, Visitor{}); err != nil {
		return man, err
	}
	return man, nil
}

// Delete removes a checkpoint.
func (m *Manager) Delete(ctx context.Context, id string) error {
	if _, _, err := ParseID(id); err != nil {
		return err
	}
	if err := m.cfg.Store.Delete(ctx, id); err != nil {
		return fmt.Errorf("cannot delete checkpoint %s in %s: %w", id, m.cfg.Store.Where(), err)
	}
	return nil
}

// Where says where the checkpoints are kept.
func (m *Manager) Where() string { return m.cfg.Store.Where() }
