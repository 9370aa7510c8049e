package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events/durablefile"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/snapshots/checkpoint"
)

// persistedPlatform, in the data directory, is the platform statemgr
// config set gave; once there, every start runs it.
const persistedPlatform = "platform.hcl"

// platformInForce is the platform the daemon runs, its text and where it
// came from (server.OriginDefault, OriginFile or OriginAPI).
type platformInForce struct {
	plat   *platform.Platform
	source checkpoint.PlatformSource
	origin string
}

// config describes p for statemgr.config.get; nil is unconfigured.
func (p *platformInForce) config(withSource bool) server.PlatformConfig {
	if p == nil {
		return server.PlatformConfig{}
	}
	c := server.PlatformConfig{Configured: true, Origin: p.origin, File: p.source.File, BMC: p.source.BMC,
		SHA256: p.source.Ref().SHA256, Size: len(p.source.Source)}
	if withSource {
		c.Source = string(p.source.Source)
	}
	return c
}

// readPlatform reads and parses the platform file at path.
func readPlatform(path, origin string) (*platformInForce, error) {
	src, err := platform.ReadSource(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read platform file: %w", err)
	}
	p, err := platform.Parse(path, src)
	if err != nil {
		return nil, fmt.Errorf("platform file %s:\n%w", path, err)
	}
	return &platformInForce{plat: p, source: checkpoint.PlatformSource{File: path, BMC: p.BMC.Name, Source: src}, origin: origin}, nil
}

// defaultPlatform is the built-in simulated platform.
func defaultPlatform() *platformInForce {
	p := platform.Default()
	return &platformInForce{plat: p, source: checkpoint.PlatformSource{File: platform.DefaultFile, BMC: p.BMC.Name, Source: platform.DefaultSource()},
		origin: server.OriginDefault}
}

// resolvePlatform returns the platform a start runs, nil for none
// (unconfigured): the one statemgr config set persisted in the data
// directory, else none if the configuration says unconfigured, else the
// platform file, else the built-in default.
func resolvePlatform(cfg Config) (p *platformInForce, ignored string, err error) {
	path := filepath.Join(cfg.DataDir, persistedPlatform)
	switch _, err := os.Stat(path); {
	case err == nil:
		p, err := readPlatform(path, server.OriginAPI)
		if err != nil {
			return nil, "", fmt.Errorf("the platform set through the API (statemgr config set): %w (fix or remove the file; statemgrd then starts on its configuration's platform)", err)
		}
		return p, cfg.PlatformFile, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("cannot read the platform set through the API: %w", err)
	case cfg.Unconfigured:
		return nil, "", nil
	case cfg.PlatformFile != "":
		p, err := readPlatform(cfg.PlatformFile, server.OriginFile)
		return p, "", err
	}
	return defaultPlatform(), "", nil
}

// dataFileMode is the mode of the files the daemon writes in its data
// directory: readable by the daemon's group.
const dataFileMode = 0o640

// removeFileDurably removes path and syncs its directory.
func removeFileDurably(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return durablefile.SyncDir(filepath.Dir(path))
}

// PlatformInForce implements server.Configurer.
func (d *statemgrd) PlatformInForce() server.PlatformConfig { return d.inForce.Load().config(true) }

// SetPlatform implements server.Configurer (statemgr.config.set): the
// first platform of an unconfigured daemon, or with Replace another one
// once every host is Off and no operation is in flight. The platform is
// persisted first (a crash from then on starts on it), then the core
// stops, as for a restore, and starts on it; if it cannot start, the
// previous platform is put back, persisted and started again.
func (d *statemgrd) SetPlatform(ctx context.Context, change server.PlatformChange, requester string) (server.ConfigSetReply, error) {
	d.cycle.Lock()
	defer d.cycle.Unlock()
	prev := d.inForce.Load()
	if err := d.canReplace(ctx, prev, change); err != nil {
		return server.ConfigSetReply{}, err
	}
	path := filepath.Join(d.cfg.DataDir, persistedPlatform)
	next := &platformInForce{plat: change.Platform, origin: server.OriginAPI,
		source: checkpoint.PlatformSource{File: path, BMC: change.Platform.BMC.Name, Source: change.Source}}
	if _, err := next.plat.Compiled(); err != nil {
		return server.ConfigSetReply{}, &server.Error{Kind: server.ErrBadPlatform, Err: err,
			Message: fmt.Sprintf("platform %s does not compile, nothing was changed: %v", change.Name, err)}
	}
	if err := os.MkdirAll(d.cfg.DataDir, 0o750); err != nil {
		return server.ConfigSetReply{}, configFailed("cannot create the data directory, nothing was changed: %v", err)
	}
	// The previous persisted text, to put back if the new platform cannot
	// start; nil when none was persisted.
	var before []byte
	if prev != nil && prev.origin == server.OriginAPI {
		before = prev.source.Source
	}
	if err := durablefile.WriteAtomic(path, change.Source, dataFileMode); err != nil {
		return server.ConfigSetReply{}, configFailed("cannot persist the platform in %s, nothing was changed: %v", path, err)
	}
	d.logger.Warn("platform persisted: stopping the components to start them on it", "file", path, "sha256", next.source.Ref().SHA256,
		"replace", prev != nil, "requester", requester)
	d.health.restoring.Store(true)
	defer d.health.restoring.Store(false)
	notify(d.logger, daemon.SdNotifyReloading+"\nSTATUS=setting the platform")
	grace, _ := time.ParseDuration(d.cfg.ShutdownGrace)
	if err := d.stopCore(grace); err != nil {
		d.logger.Warn("the components' stop for the platform change finished with errors", "error", err)
	}
	startErr := d.startOn(next)
	if startErr != nil {
		return server.ConfigSetReply{}, d.putBack(prev, before, path, startErr)
	}
	notify(d.logger, daemon.SdNotifyReady+"\nSTATUS=ready")
	if err := d.answers(ctx); err != nil {
		return server.ConfigSetReply{}, configFailed("the platform is set but statemgrd's API does not answer over it: %v", err)
	}
	reply := server.ConfigSetReply{Platform: next.config(false), Components: []string{}}
	if prev != nil {
		replaced := prev.config(false)
		reply.Replaced = &replaced
	}
	for _, id := range d.asm.System.IDs() {
		reply.Components = append(reply.Components, string(id))
	}
	slices.Sort(reply.Components)
	d.logger.Warn("platform set", "sha256", reply.Platform.SHA256, "components", len(reply.Components), "requester", requester)
	return reply, nil
}

// canReplace refuses change while prev is in force, unless it replaces it
// with every host Off and no operation in flight.
func (d *statemgrd) canReplace(ctx context.Context, prev *platformInForce, change server.PlatformChange) error {
	switch {
	case prev == nil:
		return nil
	case !change.Replace:
		return &server.Error{Kind: server.ErrAlreadyConfigured,
			Message: fmt.Sprintf("statemgrd already runs platform %s (%s, SHA-256 %s): a second config set replaces it only with --replace (\"replace\": true)",
				prev.source.File, prev.origin, prev.source.Ref().SHA256)}
	case d.asm == nil:
		return &server.Error{Kind: server.ErrStopping, Message: "statemgrd is stopping"}
	}
	var running []string
	for _, id := range d.asm.System.IDs() {
		if id.Kind() != actors.KindHost {
			continue
		}
		gctx, cancel := context.WithTimeout(ctx, answerTime)
		v, err := d.asm.System.Get(gctx, id)
		cancel()
		if err != nil {
			return configFailed("cannot read %s's state, nothing was changed: %v", id, err)
		}
		if v.Status.State != machine.StateOff {
			running = append(running, fmt.Sprintf("%s (%s)", id, v.Status.State))
		}
	}
	if len(running) > 0 {
		slices.Sort(running)
		return &server.Error{Kind: server.ErrHostsRunning,
			Message: fmt.Sprintf("cannot replace the platform while hosts are not Off: %s; power them off, then run statemgr config set --replace again", strings.Join(running, ", "))}
	}
	if ops := operationsInFlight(d.asm.Coordinator.Holds()); len(ops) > 0 {
		return &server.Error{Kind: server.ErrOperationsInFlight,
			Message: fmt.Sprintf("cannot replace the platform while operations are in flight or queued: %s", strings.Join(ops, ", ")),
			Hint:    "wait for the operations the message names to finish (statemgr operation ID), then run statemgr config set --replace again"}
	}
	return nil
}

// startOn makes p the platform in force and starts the core on it (the
// unconfigured API alone for nil).
func (d *statemgrd) startOn(p *platformInForce) error {
	if err := d.usePlatform(p); err != nil {
		return err
	}
	return d.startCore(d.ctx)
}

// putBack undoes a platform change whose core did not start: it persists
// the previous platform again (removes the new file if none was) and
// starts on it. If that fails too, run exits and systemd starts statemgrd
// on whatever the data directory holds.
func (d *statemgrd) putBack(prev *platformInForce, before []byte, path string, startErr error) error {
	d.logger.Error("cannot start the components on the new platform; putting the previous one back", "error", startErr)
	_ = d.stopCore(time.Second)
	var err error
	if before != nil {
		err = durablefile.WriteAtomic(path, before, dataFileMode)
	} else {
		err = removeFileDurably(path)
	}
	if err == nil {
		err = d.startOn(prev)
	}
	if err != nil {
		err = errors.Join(startErr, err)
		d.logger.Error("cannot start on the previous platform either; exiting", "error", err)
		_ = d.stopCore(time.Second)
		select {
		case d.fatal <- err:
		default:
		}
		return configFailed("statemgrd cannot start its components on the new platform nor on the previous one and exits (systemd starts it again): %v", err)
	}
	return configFailed("the components cannot start on the new platform: %v; statemgrd runs on the previous platform again, nothing replaced", startErr)
}

func configFailed(format string, args ...any) *server.Error {
	return &server.Error{Kind: server.ErrConfigFailed, Message: fmt.Sprintf(format, args...)}
}
