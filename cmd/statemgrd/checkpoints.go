package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/file"
	"github.com/statemgr/statemgr/snapshots/checkpoint/jetstream"
)

// CheckpointsConfig says where the daemon keeps checkpoints of its state
// (statemgr checkpoint create; docs/BACKUP.md): a local directory (a USB
// key, an NFS mount) or a NATS JetStream object store bucket, one of
// them.
type CheckpointsConfig struct {
	Dir    string `hcl:"dir,optional"`
	Bucket string `hcl:"bucket,optional"`
	// Keep is how many checkpoints a create leaves, the newest; 0 keeps
	// all. Absent: defaultKeep.
	Keep *int `hcl:"keep,optional"`
}

// defaultKeep is the retention when the block does not set keep: a week
// of daily checkpoints.
const defaultKeep = 7

// bucketName is what JetStream takes as a bucket name.
var bucketName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// problems returns what is wrong with the block, given the data
// directory: checkpoints inside it would go with it when it is lost or
// replaced by a restore.
func (c *CheckpointsConfig) problems(dataDir string) []configProblem {
	if c == nil {
		return nil
	}
	var out []configProblem
	add := func(attr, format string, args ...any) {
		out = append(out, configProblem{"checkpoints." + attr, fmt.Sprintf(format, args...)})
	}
	switch {
	case c.Dir == "" && c.Bucket == "":
		add("dir", `checkpoints names no store: give dir = "/media/usb/statemgr" (a local directory) or bucket = "statemgr-checkpoints" (a JetStream object store)`)
	case c.Dir != "" && c.Bucket != "":
		add("bucket", "checkpoints names both a dir and a bucket: give one of them")
	case c.Dir != "" && !filepath.IsAbs(c.Dir):
		add("dir", "checkpoints dir %q is relative: give an absolute path", c.Dir)
	case c.Dir != "" && within(c.Dir, dataDir):
		add("dir", "checkpoints dir %q is inside data_dir %q: keep checkpoints on another filesystem (a USB key, an NFS mount), or at least outside the data directory", c.Dir, dataDir)
	case c.Bucket != "" && !bucketName.MatchString(c.Bucket):
		add("bucket", "checkpoints bucket %q: a JetStream bucket name is 1 to 64 letters, digits, '-' or '_'", c.Bucket)
	}
	if c.Keep != nil && *c.Keep < 0 {
		add("keep", "checkpoints keep %d: give how many checkpoints to keep (0 keeps all)", *c.Keep)
	}
	return out
}

// within says whether path is dir or lies under it.
func within(path, dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(abs, filepath.Clean(path))
	return err == nil && (rel == "." || !strings.HasPrefix(rel, ".."))
}

// jetStreamDir is where the embedded NATS server keeps JetStream's files
// when checkpoints go to a bucket on it; "" when they do not.
func (c *CheckpointsConfig) jetStreamDir(cfg Config) string {
	if c == nil || c.Bucket == "" || cfg.NATS.URL != "" {
		return ""
	}
	return filepath.Join(cfg.DataDir, "jetstream")
}

// openCheckpointStore opens where the checkpoints go, and names the
// directory a checkpoint's content is spooled in until the store has it:
// the checkpoint directory itself, so that a checkpoint never takes room
// from the event log; for a bucket, the data directory.
func openCheckpointStore(ctx context.Context, c *CheckpointsConfig, dataDir string, nc *nats.Conn) (checkpoint.Store, string, error) {
	if c.Dir != "" {
		s, err := file.New(c.Dir)
		if err != nil {
			return nil, "", err
		}
		return s, c.Dir, nil
	}
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, "", fmt.Errorf("cannot use JetStream for checkpoints: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := jetstream.New(ctx, js, c.Bucket)
	if err != nil {
		return nil, "", err
	}
	return s, dataDir, nil
}

// newCheckpoints builds the checkpoint manager the API serves, or nil
// without a checkpoints block. A store that cannot be opened now (a USB
// key not plugged in, a NATS server without JetStream) does not stop the
// daemon: it is logged, and every checkpoint request tries again.
func newCheckpoints(ctx context.Context, cfg Config, log checkpoint.Source, nc *nats.Conn, logger hclog.Logger) (*lazyCheckpoints, error) {
	c := cfg.Checkpoints
	if c == nil {
		return nil, nil
	}
	keep := defaultKeep
	if c.Keep != nil {
		keep = *c.Keep
	}
	lc := &lazyCheckpoints{open: func(ctx context.Context, plat checkpoint.PlatformSource) (*checkpoint.Manager, error) {
		store, spool, err := openCheckpointStore(ctx, c, cfg.DataDir, nc)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot open the checkpoint store: %w", checkpoint.ErrUnavailable, err)
		}
		return checkpoint.NewManager(checkpoint.Config{Source: log, Store: store, Platform: plat, Now: time.Now,
			Keep: keep, SpoolDir: spool, Version: version})
	}, where: c.where()}
	if _, err := lc.manager(ctx); err != nil {
		logger.Error("checkpoints are unavailable until their store can be opened; each checkpoint request tries again", "where", c.where(), "error", err)
	}
	return lc, nil
}

// where names the configured store before it is opened.
func (c *CheckpointsConfig) where() string {
	if c.Dir != "" {
		return "directory " + c.Dir
	}
	return "JetStream object store " + c.Bucket
}

// lazyCheckpoints opens the checkpoint store on first use, and again
// after a failed open.
type lazyCheckpoints struct {
	open  func(context.Context, checkpoint.PlatformSource) (*checkpoint.Manager, error)
	where string
	mu    sync.Mutex
	// platform is the platform in force, which checkpoints are taken
	// under and a restored checkpoint must have been taken under.
	platform checkpoint.PlatformSource
	m        *checkpoint.Manager
}

// usePlatform makes checkpoints from now on be taken under p: the store
// is opened again on next use.
func (l *lazyCheckpoints) usePlatform(p checkpoint.PlatformSource) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.platform, l.m = p, nil
}

// platformInForce is the platform checkpoints are taken under.
func (l *lazyCheckpoints) platformInForce() checkpoint.PlatformSource {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.platform
}

func (l *lazyCheckpoints) manager(ctx context.Context) (*checkpoint.Manager, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		m, err := l.open(ctx, l.platform)
		if err != nil {
			return nil, err
		}
		l.m = m
	}
	return l.m, nil
}

func (l *lazyCheckpoints) Create(ctx context.Context) (checkpoint.Created, error) {
	m, err := l.manager(ctx)
	if err != nil {
		return checkpoint.Created{}, err
	}
	return m.Create(ctx)
}

func (l *lazyCheckpoints) List(ctx context.Context) ([]checkpoint.Manifest, error) {
	m, err := l.manager(ctx)
	if err != nil {
		return nil, err
	}
	return m.List(ctx)
}

func (l *lazyCheckpoints) Show(ctx context.Context, id string, verify bool) (checkpoint.Manifest, error) {
	m, err := l.manager(ctx)
	if err != nil {
		return checkpoint.Manifest{}, err
	}
	return m.Show(ctx, id, verify)
}

func (l *lazyCheckpoints) Delete(ctx context.Context, id string) error {
	m, err := l.manager(ctx)
	if err != nil {
		return err
	}
	return m.Delete(ctx, id)
}

func (l *lazyCheckpoints) Where() string { return l.where }
