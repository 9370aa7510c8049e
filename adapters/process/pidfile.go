package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/statemgr/statemgr/events/durablefile"
)

// pidRecord is the content of <PIDDir>/<name>.pid: enough to find the
// process group again after the daemon died, and to tell it from an
// unrelated process that got the same pid later.
type pidRecord struct {
	Service     string `json:"service"`
	PID         int    `json:"pid"`
	PGID        int    `json:"pgid"`
	StartTicks  uint64 `json:"start_ticks"` // /proc/<pid>/stat field 22
	BootID      string `json:"boot_id"`
	StopSignal  string `json:"stop_signal"`
	StopTimeout string `json:"stop_timeout"`
	Command     string `json:"command"`
}

const pidSuffix = ".pid"

func pidPath(dir, name string) string { return filepath.Join(dir, name+pidSuffix) }

func (p *Process) writePIDFile() error {
	st, err := readStat(p.pid)
	if err != nil {
		return fmt.Errorf("%w: cannot read the start time of pid %d: %w", ErrPIDFile, p.pid, err)
	}
	boot, err := bootID()
	if err != nil {
		return fmt.Errorf("%w: cannot read the boot id: %w", ErrPIDFile, err)
	}
	rec := pidRecord{
		Service: p.spec.Name, PID: p.pid, PGID: p.pid, StartTicks: st.StartTicks, BootID: boot,
		StopSignal: signalName(p.spec.StopSignal), StopTimeout: p.spec.StopTimeout.String(), Command: p.spec.Command,
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPIDFile, err)
	}
	if err := os.MkdirAll(p.opts.PIDDir, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrPIDFile, err)
	}
	path := pidPath(p.opts.PIDDir, p.spec.Name)
	if err := durablefile.WriteAtomic(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrPIDFile, err)
	}
	p.pidFile = path
	return nil
}

// removePIDFile removes the pid file once the group is gone; safe to call
// more than once and from the waiter and a stop at the same time.
func (p *Process) removePIDFile() {
	if p.pidFile == "" {
		return
	}
	if err := os.Remove(p.pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.log.Warn("cannot remove pid file", "path", p.pidFile, "error", err)
	}
}

// OrphanAction is what CleanupOrphans did about one pid file.
type OrphanAction string

// Orphan actions.
const (
	OrphanStopped    OrphanAction = "stopped"    // the group stopped on its stop signal
	OrphanKilled     OrphanAction = "killed"     // the group needed SIGKILL
	OrphanGone       OrphanAction = "gone"       // nothing of the group was left
	OrphanReused     OrphanAction = "reused"     // the pid now belongs to another process, left alone
	OrphanStaleBoot  OrphanAction = "stale-boot" // the file is from an earlier boot
	OrphanUnkillable OrphanAction = "unkillable" // the group survived SIGKILL; the file is kept
	OrphanMalformed  OrphanAction = "malformed"  // the file could not be read as a pid file
)

// Orphan is one pid file the startup cleanup handled.
type Orphan struct {
	File    string
	Service string
	PID     int
	PGID    int
	Action  OrphanAction
	Members []int // live group members found before stopping
	// Signal and StopTimeout are how the group is being stopped: the
	// recorded stop signal, then SIGKILL after the recorded stop timeout
	// (empty and zero when nothing of the group was left to stop).
	Signal      string
	StopTimeout time.Duration
}

// Cleanup is the stopping of the process group one pid file names. It
// runs in the background: Found says at once what the file named and how
// it is being stopped; once Done is closed, Result says how it ended.
type Cleanup struct {
	found  Orphan
	done   chan struct{}
	result Orphan
	err    error
}

// Found returns what the pid file named, as found at startup; its Action
// is empty while the group is still being stopped.
func (c *Cleanup) Found() Orphan { return c.found }

// Done is closed once the cleanup has ended.
func (c *Cleanup) Done() <-chan struct{} { return c.done }

// Result returns how the cleanup ended (Action set) and, when it could
// not remove what the file named, why; valid once Done is closed.
func (c *Cleanup) Result() (Orphan, error) {
	<-c.done
	return c.result, c.err
}

func (c *Cleanup) finish(o Orphan, err error, log hclog.Logger) {
	c.result, c.err = o, err
	if err != nil {
		log.Error("cannot clean up after a previous run", "file", o.File, "error", err)
	} else {
		log.Warn("process left by a previous run", "service", o.Service, "pid", o.PID,
			"pgid", o.PGID, "members", o.Members, "action", string(o.Action))
	}
	close(c.done)
}

// StartCleanup finds the processes a previous daemon left behind in dir
// (one <name>.pid file per service it had started) and starts stopping
// each group: it sends the group its stop signal before it returns, then,
// in the background, sends SIGKILL after the group's stop timeout (and
// waits at most opts.KillWait more for it to vanish), logs each, and
// removes the pid files. A pid file whose process has another start time,
// or which comes from an earlier boot, names a process that is not ours:
// it is left alone and the file removed. Call it at startup, before
// starting any service, and start a service only once its Cleanup is
// Done. Ending ctx cuts the stop timeouts short (SIGKILL at once). The
// error is for dir itself; each file's own error is in its Result.
func StartCleanup(ctx context.Context, dir string, opts Options) ([]*Cleanup, error) {
	opts = opts.withDefaults()
	log := opts.Logger.Named("orphans")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, serviceErr("*", "cleanup", fmt.Errorf("%w: %w", ErrPIDFile, err))
	}
	boot, err := bootID()
	if err != nil {
		return nil, serviceErr("*", "cleanup", fmt.Errorf("%w: cannot read the boot id: %w", ErrPIDFile, err))
	}
	var cleanups []*Cleanup
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, pidSuffix) || strings.HasPrefix(name, ".") {
			continue
		}
		cleanups = append(cleanups, startOne(ctx, filepath.Join(dir, name), boot, opts, log))
	}
	return cleanups, nil
}

// CleanupOrphans is StartCleanup waiting for every cleanup to end. The
// error joins every pid file that could not be handled; the others are
// still cleaned up.
func CleanupOrphans(ctx context.Context, dir string, opts Options) ([]Orphan, error) {
	cleanups, err := StartCleanup(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	var orphans []Orphan
	var errs []error
	for _, c := range cleanups {
		o, err := c.Result()
		orphans = append(orphans, o)
		errs = append(errs, err)
	}
	return orphans, errors.Join(errs...)
}

// startOne reads one pid file and, if its group is ours and alive, sends
// the stop signal and leaves the rest to a goroutine.
func startOne(ctx context.Context, path, boot string, opts Options, log hclog.Logger) *Cleanup {
	c := &Cleanup{done: make(chan struct{})}
	o := Orphan{File: path, Service: strings.TrimSuffix(filepath.Base(path), pidSuffix), Action: OrphanMalformed}
	rec, err := readPIDFile(path)
	if err != nil {
		c.found = o
		c.finish(o, serviceErr(o.Service, "cleanup", errors.Join(err, removeFile(path))), log)
		return c
	}
	o.Service, o.PID, o.PGID = rec.Service, rec.PID, rec.PGID
	ours, action := owns(rec, boot)
	if !ours {
		o.Action = action
		c.found = o
		c.finish(o, removeFile(path), log)
		return c
	}
	members, err := groupMembers(rec.PGID)
	o.Members = members
	switch {
	case err != nil:
		c.found = o
		c.finish(o, serviceErr(o.Service, "cleanup", err), log)
		return c
	case len(members) == 0:
		o.Action = OrphanGone
		c.found = o
		c.finish(o, removeFile(path), log)
		return c
	}
	sig := unix.SignalNum(rec.StopSignal)
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	o.Signal, o.StopTimeout = signalName(sig), opts.KillWait
	if timeout, err := time.ParseDuration(rec.StopTimeout); err == nil && timeout > 0 {
		o.StopTimeout = timeout
	}
	o.Action = ""
	c.found = o
	signalled := signalOrphan(rec, sig) == nil
	go func() {
		o.Action = OrphanStopped
		if !signalled || !awaitGroupGone(ctx, opts, rec.PGID, o.StopTimeout) {
			o.Action = OrphanKilled
			_ = signalOrphan(rec, syscall.SIGKILL) // the wait below tells whether it worked
			if !awaitGroupGone(context.Background(), opts, rec.PGID, opts.KillWait) {
				o.Action = OrphanUnkillable
				left, _ := groupMembers(rec.PGID)
				c.finish(o, serviceErr(o.Service, "cleanup", fmt.Errorf("%w: group %d, live members %v", ErrUnkillable, rec.PGID, left)), log)
				return
			}
		}
		c.finish(o, removeFile(path), log)
	}()
	return c
}

// owns reports whether rec still describes a process of ours, and if not,
// why.
func owns(rec pidRecord, boot string) (bool, OrphanAction) {
	if rec.BootID != boot {
		return false, OrphanStaleBoot
	}
	st, err := readStat(rec.PID)
	if err != nil {
		// The leader is gone. While any member of its group lives, the
		// kernel keeps its pid (the group id) allocated, so a live group
		// with that id is still ours.
		return true, ""
	}
	if st.StartTicks != rec.StartTicks {
		return false, OrphanReused
	}
	return true, ""
}

// signalOrphan sends sig to the group (and to its recorded leader, should
// it have left the group).
func signalOrphan(rec pidRecord, sig syscall.Signal) error {
	if st, err := readStat(rec.PID); err == nil && st.StartTicks == rec.StartTicks && st.PGID != rec.PGID && rec.PID > 1 {
		_ = syscall.Kill(rec.PID, sig) // best effort: the group signal below is the main one
	}
	return signalGroup(rec.PGID, sig)
}

// awaitGroupGone waits up to timeout (or until ctx ends) for group pgid
// to have no live member; it reports whether it has none.
func awaitGroupGone(ctx context.Context, opts Options, pgid int, timeout time.Duration) bool {
	t := opts.Clock.NewTimer(timeout)
	defer t.Stop()
	for {
		if members, err := groupMembers(pgid); err == nil && len(members) == 0 {
			return true
		}
		poll := opts.Clock.NewTimer(groupPoll)
		select {
		case <-poll.C():
		case <-t.C():
			poll.Stop()
			return false
		case <-ctx.Done():
			poll.Stop()
			return false
		}
	}
}

func readPIDFile(path string) (pidRecord, error) {
	var rec pidRecord
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, fmt.Errorf("%w: %w", ErrPIDFile, err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%w: %s: %w", ErrPIDFile, path, err)
	}
	if rec.PID <= 1 || rec.PGID <= 1 {
		return rec, fmt.Errorf("%w: %s: implausible pid %d / pgid %d", ErrPIDFile, path, rec.PID, rec.PGID)
	}
	return rec, nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrPIDFile, err)
	}
	return nil
}
