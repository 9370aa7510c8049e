package checkpoint

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
)

var _ Store = (*MemStore)(nil)

// MemStore is a Store in memory, for tests and the simulation, with
// faults to inject: set the fields before the call they should affect.
type MemStore struct {
	mu    sync.Mutex
	items map[string]memItem

	// FailPutAfter makes a Put fail with ErrInjected once it has read that
	// many bytes of content (0 = never): an upload cut midway.
	FailPutAfter int64
	// FailList, FailOpen and FailDelete, if set, are returned by those
	// calls.
	FailList, FailOpen, FailDelete error
}

// ErrInjected is the fault MemStore injects.
var ErrInjected = fmt.Errorf("injected store fault")

type memItem struct {
	m       Manifest
	content []byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{items: map[string]memItem{}} }

// Put implements Store.
func (s *MemStore) Put(ctx context.Context, m Manifest, content io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	_, exists := s.items[m.ID]
	failAfter := s.FailPutAfter
	s.mu.Unlock()
	if exists {
		return fmt.Errorf("%w: %s", ErrExists, m.ID)
	}
	r := Verify(content, m)
	if failAfter > 0 {
		r = io.LimitReader(r, failAfter)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	if failAfter > 0 && int64(buf.Len()) >= failAfter {
		return fmt.Errorf("%w after %d bytes", ErrInjected, buf.Len())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.items[m.ID]; exists {
		return fmt.Errorf("%w: %s", ErrExists, m.ID)
	}
	s.items[m.ID] = memItem{m: m, content: buf.Bytes()}
	return nil
}

// List implements Store.
func (s *MemStore) List(ctx context.Context) ([]Manifest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailList != nil {
		return nil, s.FailList
	}
	out := make([]Manifest, 0, len(s.items))
	for _, it := range s.items {
		out = append(out, it.m)
	}
	Sort(out)
	return out, ctx.Err()
}

// Stat implements Store.
func (s *MemStore) Stat(ctx context.Context, id string) (Manifest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	if !ok {
		return Manifest{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return it.m, ctx.Err()
}

// Open implements Store.
func (s *MemStore) Open(ctx context.Context, id string) (Manifest, io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailOpen != nil {
		return Manifest{}, nil, s.FailOpen
	}
	it, ok := s.items[id]
	if !ok {
		return Manifest{}, nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return it.m, io.NopCloser(bytes.NewReader(it.content)), ctx.Err()
}

// Delete implements Store.
func (s *MemStore) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailDelete != nil {
		return s.FailDelete
	}
	if _, ok := s.items[id]; !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	delete(s.items, id)
	return ctx.Err()
}

// Damage flips one byte of a stored checkpoint's content, for tests of
// the checks that must refuse it.
func (s *MemStore) Damage(id string, offset int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[id]; ok && offset < len(it.content) {
		it.content = append([]byte(nil), it.content...)
		it.content[offset] ^= 0xff
		s.items[id] = it
	}
}

// Where implements Store.
func (s *MemStore) Where() string { return "memory" }
