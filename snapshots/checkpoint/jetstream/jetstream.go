// Package jetstream keeps checkpoints in a NATS JetStream object store
// bucket: the fleet's own infrastructure, on an external NATS server or an
// embedded one with JetStream on. Each checkpoint is one object named by
// its id, with its manifest as JSON in the object's metadata.
//
// A Put uploads the content under a staging name (.part-<id>, never
// listed) and renames the object to its id only once the server has
// acknowledged every chunk. Renaming is needed: a client buffers what it
// publishes while disconnected and sends it on reconnecting, so an upload
// cut by the server going away could otherwise be completed later by its
// own buffered info record, over chunks lost with the connection. A cut
// upload leaves at most a staging object, removed by the next Put or
// Delete of its id. Reads check the object store's SHA-256 digest and, in
// checkpoint.Read, the manifest's.
//
// JetStream syncs its files to disk every two minutes by default: run the
// server with sync_interval: always (or accept losing the last minutes of
// uploads to a power loss of the NATS server's machine).
package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

var _ checkpoint.Store = (*Store)(nil)

// manifestKey is the object metadata entry that holds the manifest.
const manifestKey = "statemgr-checkpoint"

// Store is a checkpoint.Store in an object store bucket.
type Store struct {
	bucket string
	obs    jetstream.ObjectStore
}

// New opens the bucket, creating it (file storage) if it does not exist.
func New(ctx context.Context, js jetstream.JetStream, bucket string) (*Store, error) {
	obs, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket,
			Description: "statemgr checkpoints", Storage: jetstream.FileStorage})
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open the JetStream object store %q (is the NATS server's JetStream enabled?): %w", bucket, err)
	}
	return &Store{bucket: bucket, obs: obs}, nil
}

// Where implements checkpoint.Store.
func (s *Store) Where() string { return "JetStream object store " + s.bucket }

// Put implements checkpoint.Store.
func (s *Store) Put(ctx context.Context, m checkpoint.Manifest, content io.Reader) error {
	if err := m.Check(); err != nil {
		return err
	}
	if _, err := s.obs.GetInfo(ctx, m.ID); err == nil {
		return fmt.Errorf("%w: %s", checkpoint.ErrExists, m.ID)
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return s.fail("cannot look checkpoint "+m.ID+" up", err)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	meta := jetstream.ObjectMeta{Name: staging(m.ID), Description: fmt.Sprintf("statemgr checkpoint at global sequence %d", m.Seq),
		Metadata: map[string]string{manifestKey: string(raw)}}
	s.removeStaging(ctx, m.ID)
	if _, err := s.obs.Put(ctx, meta, checkpoint.Verify(content, m)); err != nil {
		if errors.Is(err, checkpoint.ErrCorrupt) {
			return err
		}
		return s.fail("cannot upload checkpoint "+m.ID, err)
	}
	meta.Name = m.ID
	if err := s.obs.UpdateMeta(ctx, staging(m.ID), meta); err != nil {
		return s.fail("cannot name uploaded checkpoint "+m.ID, err)
	}
	return nil
}

// fail wraps err, of doing what, as checkpoint.ErrUnavailable unless the
// server answered it (a JetStream API error, such as a full bucket): a
// connection lost, refused or timed out means the server or its JetStream
// cannot be reached, and nothing was stored.
func (s *Store) fail(what string, err error) error {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return fmt.Errorf("%s in %s: %w", what, s.Where(), err)
	}
	return fmt.Errorf("%w: %s in %s: %v; check that the NATS server is reachable and has JetStream enabled, then try again", checkpoint.ErrUnavailable, what, s.Where(), err)
}

// staging is the name an upload has until it is complete.
func staging(id string) string { return ".part-" + id }

// removeStaging deletes what a cut upload of id left, if anything.
func (s *Store) removeStaging(ctx context.Context, id string) {
	if _, err := s.obs.GetInfo(ctx, staging(id)); err == nil {
		_ = s.obs.Delete(ctx, staging(id))
	}
}

// manifestOf reads the manifest an object's metadata holds.
func manifestOf(info *jetstream.ObjectInfo) (checkpoint.Manifest, error) {
	raw, ok := info.Metadata[manifestKey]
	if !ok {
		return checkpoint.Manifest{}, fmt.Errorf("%w: object %s holds no statemgr checkpoint manifest", checkpoint.ErrCorrupt, info.Name)
	}
	var m checkpoint.Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return checkpoint.Manifest{}, fmt.Errorf("%w: %s: manifest: %v", checkpoint.ErrCorrupt, info.Name, err)
	}
	if m.ID != info.Name {
		return checkpoint.Manifest{}, fmt.Errorf("%w: object %s holds the manifest of %s", checkpoint.ErrCorrupt, info.Name, m.ID)
	}
	if uint64(m.Size) != info.Size {
		return checkpoint.Manifest{}, fmt.Errorf("%w: %s: object of %d bytes, the manifest says %d", checkpoint.ErrCorrupt, m.ID, info.Size, m.Size)
	}
	return m, m.Check()
}

// List implements checkpoint.Store. An object named like a checkpoint
// whose manifest cannot be used is listed with its Problem; other objects
// are not statemgr's and are left out.
func (s *Store) List(ctx context.Context) ([]checkpoint.Manifest, error) {
	infos, err := s.obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail("cannot list the object store "+s.bucket, err)
	}
	var out []checkpoint.Manifest
	for _, info := range infos {
		if _, _, err := checkpoint.ParseID(info.Name); err != nil {
			continue
		}
		m, err := manifestOf(info)
		if err != nil {
			m = checkpoint.Manifest{ID: info.Name, Problem: err.Error()}
		}
		out = append(out, m)
	}
	checkpoint.Sort(out)
	return out, nil
}

// Stat implements checkpoint.Store.
func (s *Store) Stat(ctx context.Context, id string) (checkpoint.Manifest, error) {
	if _, _, err := checkpoint.ParseID(id); err != nil {
		return checkpoint.Manifest{}, err
	}
	info, err := s.obs.GetInfo(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return checkpoint.Manifest{}, fmt.Errorf("%w: %s", checkpoint.ErrNotFound, id)
	}
	if err != nil {
		return checkpoint.Manifest{}, s.fail("cannot read checkpoint "+id, err)
	}
	return manifestOf(info)
}

// Open implements checkpoint.Store.
func (s *Store) Open(ctx context.Context, id string) (checkpoint.Manifest, io.ReadCloser, error) {
	if _, _, err := checkpoint.ParseID(id); err != nil {
		return checkpoint.Manifest{}, nil, err
	}
	res, err := s.obs.Get(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return checkpoint.Manifest{}, nil, fmt.Errorf("%w: %s", checkpoint.ErrNotFound, id)
	}
	if err != nil {
		return checkpoint.Manifest{}, nil, s.fail("cannot read checkpoint "+id, err)
	}
	info, err := res.Info()
	if err != nil {
		_ = res.Close()
		return checkpoint.Manifest{}, nil, s.fail("cannot read checkpoint "+id, err)
	}
	m, err := manifestOf(info)
	if err != nil {
		_ = res.Close()
		return checkpoint.Manifest{}, nil, err
	}
	return m, res, nil
}

// Delete implements checkpoint.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, _, err := checkpoint.ParseID(id); err != nil {
		return err
	}
	s.removeStaging(ctx, id)
	if _, err := s.obs.GetInfo(ctx, id); errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("%w: %s", checkpoint.ErrNotFound, id)
	} else if err != nil {
		return s.fail("cannot delete checkpoint "+id, err)
	}
	if err := s.obs.Delete(ctx, id); err != nil {
		return s.fail("cannot delete checkpoint "+id, err)
	}
	return nil
}
