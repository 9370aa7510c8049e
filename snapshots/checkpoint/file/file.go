// Package file keeps checkpoints in a local directory: a USB key or an
// NFS mount on a BMC. Each checkpoint is one file, <id>.ckpt: a header
// line, the manifest as one line of JSON, then the content.
//
// A Put writes a temporary file (.<id>.*.tmp, never listed), checks the
// content against the manifest as it copies, syncs it, renames it into
// place and syncs the directory: a crash or a full disk at any point
// leaves either no checkpoint or the whole one. A temporary file a crash
// left behind is removed by the next Put or Delete of its id.
package file

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/statemgr/statemgr/events/durablefile"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

var _ checkpoint.Store = (*Store)(nil)

// header is a checkpoint file's first line.
const header = "statemgr-checkpoint 1\n"

// suffix names checkpoint files.
const suffix = ".ckpt"

// maxManifestBytes bounds the manifest line a List reads.
const maxManifestBytes = 64 << 10

// Store is a checkpoint.Store in a directory.
type Store struct{ dir string }

// New returns a store in dir, creating it if missing.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create the checkpoint directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Where implements checkpoint.Store.
func (s *Store) Where() string { return "directory " + s.dir }

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+suffix) }

// Put implements checkpoint.Store.
func (s *Store) Put(ctx context.Context, m checkpoint.Manifest, content io.Reader) (err error) {
	if err := m.Check(); err != nil {
		return err
	}
	if _, err := os.Stat(s.path(m.ID)); err == nil {
		return fmt.Errorf("%w: %s", checkpoint.ErrExists, m.ID)
	}
	s.removeTemps(m.ID)
	tmp, err := os.CreateTemp(s.dir, "."+m.ID+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot create a temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	line, err := json.Marshal(m)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(tmp, 64<<10)
	_, _ = w.WriteString(header)
	_, _ = w.Write(append(line, '\n'))
	if _, err := io.Copy(w, readerWithContext{ctx, checkpoint.Verify(content, m)}); err != nil {
		return fmt.Errorf("cannot write %s: %w", tmp.Name(), err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("cannot write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.path(m.ID)); err != nil {
		return fmt.Errorf("cannot rename the checkpoint into place: %w", err)
	}
	return durablefile.SyncDir(s.dir)
}

// readerWithContext stops a copy when ctx ends.
type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (r readerWithContext) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// removeTemps removes what an interrupted Put of id left.
func (s *Store) removeTemps(id string) {
	tmps, _ := filepath.Glob(filepath.Join(s.dir, "."+id+".*.tmp"))
	for _, t := range tmps {
		_ = os.Remove(t)
	}
}

// List implements checkpoint.Store. A file named like a checkpoint whose
// manifest cannot be read is listed with its Problem.
func (s *Store) List(ctx context.Context) ([]checkpoint.Manifest, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the checkpoint directory: %w", err)
	}
	var out []checkpoint.Manifest
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if _, _, err := checkpoint.ParseID(id); err != nil {
			continue
		}
		m, err := s.Stat(ctx, id)
		if err != nil {
			m = checkpoint.Manifest{ID: id, Problem: err.Error()}
		}
		out = append(out, m)
	}
	checkpoint.Sort(out)
	return out, nil
}

// Stat implements checkpoint.Store.
func (s *Store) Stat(_ context.Context, id string) (checkpoint.Manifest, error) {
	m, f, err := s.open(id)
	if f != nil {
		_ = f.Close()
	}
	return m, err
}

// Open implements checkpoint.Store.
func (s *Store) Open(_ context.Context, id string) (checkpoint.Manifest, io.ReadCloser, error) {
	m, f, err := s.open(id)
	if err != nil {
		if f != nil {
			_ = f.Close()
		}
		return checkpoint.Manifest{}, nil, err
	}
	return m, f, nil
}

// open reads a checkpoint file's manifest and leaves the returned reader
// at its content.
func (s *Store) open(id string) (checkpoint.Manifest, *contentFile, error) {
	if _, _, err := checkpoint.ParseID(id); err != nil {
		return checkpoint.Manifest{}, nil, err
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return checkpoint.Manifest{}, nil, fmt.Errorf("%w: %s", checkpoint.ErrNotFound, id)
	}
	if err != nil {
		return checkpoint.Manifest{}, nil, fmt.Errorf("cannot open checkpoint %s: %w", id, err)
	}
	cf := &contentFile{f: f, r: bufio.NewReaderSize(f, 64<<10)}
	first, err := cf.r.ReadString('\n')
	if err != nil || first != header {
		return checkpoint.Manifest{}, cf, fmt.Errorf("%w: %s: not a statemgr checkpoint file of format 1 (header %q)", checkpoint.ErrCorrupt, id, strings.TrimSpace(first))
	}
	line, err := cf.r.ReadSlice('\n')
	if err != nil {
		return checkpoint.Manifest{}, cf, fmt.Errorf("%w: %s: manifest line unreadable or over %d bytes", checkpoint.ErrCorrupt, id, maxManifestBytes)
	}
	var m checkpoint.Manifest
	if err := json.Unmarshal(line, &m); err != nil {
		return checkpoint.Manifest{}, cf, fmt.Errorf("%w: %s: manifest: %v", checkpoint.ErrCorrupt, id, err)
	}
	if m.ID != id {
		return checkpoint.Manifest{}, cf, fmt.Errorf("%w: file %s%s holds the manifest of %s", checkpoint.ErrCorrupt, id, suffix, m.ID)
	}
	if err := m.Check(); err != nil {
		return checkpoint.Manifest{}, cf, err
	}
	return m, cf, nil
}

// contentFile reads a checkpoint file past its manifest.
type contentFile struct {
	f *os.File
	r *bufio.Reader
}

func (c *contentFile) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *contentFile) Close() error               { return c.f.Close() }

// Delete implements checkpoint.Store.
func (s *Store) Delete(_ context.Context, id string) error {
	if _, _, err := checkpoint.ParseID(id); err != nil {
		return err
	}
	s.removeTemps(id)
	err := os.Remove(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", checkpoint.ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("cannot delete checkpoint %s: %w", id, err)
	}
	return durablefile.SyncDir(s.dir)
}
