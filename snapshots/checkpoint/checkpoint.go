package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format is the checkpoint format this build writes and reads: the
// manifest's fields and the content's records (format.go).
const Format = 1

// Manifest describes one checkpoint. Stores keep it beside the content and
// list it without reading the content.
type Manifest struct {
	Format int    `json:"format"`
	ID     string `json:"id"`
	// Seq is the global sequence the checkpoint holds the log up to: every
	// event through it and none after, with the snapshots and indexes
	// written with them.
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"` // when it was taken, from the daemon's clock
	Platform Platform  `json:"platform"`
	Size     int64     `json:"size"`    // bytes of content
	SHA256   string    `json:"sha256"`  // hex SHA-256 of the content
	Records  uint64    `json:"records"` // key-value records in the content
	Version  string    `json:"statemgr_version,omitempty"`
	// Problem, set by List only, says why a stored entry cannot be used
	// (its manifest is unreadable or of a newer format). Such an entry is
	// listed so that it is seen and can be deleted, never restored.
	Problem string `json:"problem,omitempty"`
}

// Platform names the platform a checkpoint was taken under: the state
// only makes sense with the same components.
type Platform struct {
	File   string `json:"file"`   // the platform file's path, or platform.DefaultFile for the built-in one
	BMC    string `json:"bmc"`    // the platform's BMC name
	SHA256 string `json:"sha256"` // hex SHA-256 of the platform file's text
}

// Store keeps checkpoints. All methods are safe for concurrent use.
type Store interface {
	// Put stores m and its content, read from content to its end. A
	// checkpoint is listed only once all of it is durable: a Put that
	// fails or is interrupted at any point leaves nothing listed. The
	// content must match m.Size and m.SHA256 (Verify), else Put fails
	// with ErrCorrupt. ErrExists if m.ID is stored.
	Put(ctx context.Context, m Manifest, content io.Reader) error
	// List returns every stored checkpoint, newest first (Sort).
	List(ctx context.Context) ([]Manifest, error)
	// Stat returns one checkpoint's manifest; ErrNotFound if none.
	Stat(ctx context.Context, id string) (Manifest, error)
	// Open returns a checkpoint's manifest and content; ErrNotFound if
	// none. The caller closes the reader and checks the content (Read).
	Open(ctx context.Context, id string) (Manifest, io.ReadCloser, error)
	// Delete removes a checkpoint; ErrNotFound if none.
	Delete(ctx context.Context, id string) error
	// Where says where the store keeps checkpoints, for messages.
	Where() string
}

// Errors of the checkpoint package.
var (
	// ErrNotFound means no checkpoint has the id.
	ErrNotFound = errors.New("no such checkpoint")
	// ErrExists means a checkpoint with the id is already stored.
	ErrExists = errors.New("checkpoint already exists")
	// ErrBadID means an id is not one NewID makes.
	ErrBadID = errors.New("not a checkpoint id")
	// ErrCorrupt means a checkpoint's content does not match its manifest
	// (size, checksum, sequence or record count) or cannot be parsed.
	ErrCorrupt = errors.New("corrupt checkpoint")
	// ErrUnknownFormat means a checkpoint is of a newer format than this
	// build reads.
	ErrUnknownFormat = errors.New("unknown checkpoint format")
	// ErrInProgress means another checkpoint is being created.
	ErrInProgress = errors.New("a checkpoint is already being created")
	// ErrUnavailable means the store cannot be reached (a NATS server
	// gone, a mount missing); nothing was stored, and the same call can
	// be made again once it is back.
	ErrUnavailable = errors.New("checkpoint store unavailable")
	// ErrPlatformMismatch means a checkpoint was taken under another
	// platform than the one in force.
	ErrPlatformMismatch = errors.New("checkpoint was taken under another platform")
)

// idLayout is the time part of an id: UTC, to the millisecond, so ids sort
// by time and are valid file and object names.
const idLayout = "20060102T150405.000Z"

var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9]{1,20}$`)

// NewID names the checkpoint taken at t up to global sequence seq.
func NewID(t time.Time, seq uint64) string {
	return t.UTC().Format(idLayout) + "-" + strconv.FormatUint(seq, 10)
}

// ParseID returns the time and sequence an id names.
func ParseID(id string) (time.Time, uint64, error) {
	if !idPattern.MatchString(id) {
		return time.Time{}, 0, fmt.Errorf("%w: %q (want e.g. %s, as statemgr checkpoint list shows)", ErrBadID, id, NewID(time.Date(2026, 12, 7, 13, 22, 0, 0, time.UTC), 1234))
	}
	i := strings.LastIndexByte(id, '-')
	t, err := time.Parse(idLayout, id[:i])
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("%w: %q: %v", ErrBadID, id, err)
	}
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("%w: %q: %v", ErrBadID, id, err)
	}
	return t, seq, nil
}

// Sort orders manifests newest first: by the time, then the sequence
// their ids name (ids that do not parse last, by name).
func Sort(ms []Manifest) {
	type key struct {
		t   time.Time
		seq uint64
		ok  bool
	}
	keys := make(map[string]key, len(ms))
	for _, m := range ms {
		t, seq, err := ParseID(m.ID)
		keys[m.ID] = key{t, seq, err == nil}
	}
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := keys[ms[i].ID], keys[ms[j].ID]
		switch {
		case a.ok != b.ok:
			return a.ok
		case !a.t.Equal(b.t):
			return a.t.After(b.t)
		case a.seq != b.seq:
			return a.seq > b.seq
		}
		return ms[i].ID > ms[j].ID
	})
}

// Check refuses a manifest this build cannot use: a newer format, a bad
// id, or an id that disagrees with the sequence and time it names.
func (m Manifest) Check() error {
	if m.Format != Format {
		return fmt.Errorf("%w: checkpoint %s is format %d, this build reads %d", ErrUnknownFormat, m.ID, m.Format, Format)
	}
	t, seq, err := ParseID(m.ID)
	if err != nil {
		return err
	}
	if seq != m.Seq || !t.Equal(m.Time.UTC().Truncate(time.Millisecond)) {
		return fmt.Errorf("%w: manifest of %s says sequence %d at %s", ErrCorrupt, m.ID, m.Seq, m.Time.UTC().Format(time.RFC3339Nano))
	}
	if m.Problem != "" {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, m.ID, m.Problem)
	}
	return nil
}
