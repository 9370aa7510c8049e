package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/sim/clock"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
)

// statemgrd is one running daemon and everything it must stop in order.
type statemgrd struct {
	logger  hclog.Logger
	cancel  context.CancelFunc
	log     *badger.Log
	sys     *protoactor.System
	health  *health
	metrics *metrics
	http    *http.Server
	httpLn  net.Listener
}

// loadPlatform returns the configured platform or the built-in default.
func loadPlatform(path string) (*platform.Platform, error) {
	if path == "" {
		return platform.Default(), nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read platform file: %w", err)
	}
	p, err := platform.Parse(path, src)
	if err != nil {
		return nil, fmt.Errorf("platform file %s:\n%w", path, err)
	}
	return p, nil
}

// compileComponents turns the platform's components into compiled machines.
func compileComponents(p *platform.Platform) (map[actors.ID]*machine.Compiled, map[actors.ID]map[string]bool, error) {
	comps, err := p.Components()
	if err != nil {
		return nil, nil, err
	}
	compiled := map[actors.ID]*machine.Compiled{}
	errorStates := map[actors.ID]map[string]bool{}
	for _, c := range comps {
		id, err := actors.ParseID(c.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("platform component %q: %w", c.ID, err)
		}
		m, err := machine.Compile(c.Machine)
		if err != nil {
			return nil, nil, fmt.Errorf("component %s: %w", id, err)
		}
		compiled[id] = m
		errorStates[id] = map[string]bool{}
		for _, s := range c.Machine.States {
			if s.Kind == machine.ErrorKind {
				errorStates[id][s.Name] = true
			}
		}
	}
	return compiled, errorStates, nil
}

// start brings the daemon up in dependency order: storage, platform,
// components (recovered), metrics and health. On error it undoes what it
// started.
func start(ctx context.Context, cfg Config, logger hclog.Logger) (d *statemgrd, err error) {
	ctx, cancel := context.WithCancel(ctx)
	d = &statemgrd{logger: logger, cancel: cancel, health: &health{}, metrics: newMetrics()}
	defer func() {
		if err != nil {
			_ = d.shutdown(time.Second)
		}
	}()
	notify(logger, "STATUS=starting")
	profile, _ := badger.ParseProfile(cfg.StorageProfile)
	if lim := profile.MemoryLimit(); lim > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(lim)
	}
	plat, err := loadPlatform(cfg.PlatformFile)
	if err != nil {
		return d, err
	}
	compiled, errorStates, err := compileComponents(plat)
	if err != nil {
		return d, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return d, fmt.Errorf("cannot create data directory: %w", err)
	}
	d.log, err = badger.Open(badger.Options{Dir: filepath.Join(cfg.DataDir, "events"), Profile: profile, Logger: logger.Named("log")})
	if err != nil {
		return d, err
	}
	notify(logger, "STATUS=recovering components")
	d.sys, err = protoactor.Start(protoactor.Config{
		Log:            instrumentedLog{d.log, d.metrics},
		Snapshots:      snapbadger.New(d.log.DB()),
		SnapshotPolicy: snapshots.DefaultPolicy,
		Clock:          clock.Real{},
		Logger:         logger.Named("components"),
	}, compiled)
	if err != nil {
		return d, err
	}
	d.health.sys.Store(d.sys)
	views := map[actors.ID]machine.Status{}
	for _, id := range d.sys.IDs() {
		v, err := d.sys.Get(ctx, id)
		if err != nil {
			return d, err
		}
		views[id] = v.Status
		logger.Info("recovered", "component", id, "state", v.Status.State, "version", v.Version)
	}
	d.metrics.seed(views)
	head, err := d.log.Head(ctx)
	if err != nil {
		return d, err
	}
	d.metrics.head.Set(float64(head))
	go d.metrics.follow(ctx, d.log, head+1, errorStates, logger.Named("metrics"))
	if cfg.HTTPListen != "" {
		if d.httpLn, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			return d, fmt.Errorf("cannot listen for metrics and health on %s: %w", cfg.HTTPListen, err)
		}
		d.http = &http.Server{Handler: d.health.handler(d.metrics), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := d.http.Serve(d.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics and health server stopped", "error", err)
			}
		}()
		logger.Info("serving metrics and health", "address", d.httpLn.Addr().String())
	}
	d.health.ready.Store(true)
	notify(logger, daemon.SdNotifyReady)
	go watchdog(ctx, d.health, logger)
	logger.Info("ready", "data_dir", cfg.DataDir, "profile", profile, "components", len(compiled))
	return d, nil
}

// shutdown stops the daemon in order: refuse new work, stop the component
// actors after their queued messages, sync and close the log.
func (d *statemgrd) shutdown(grace time.Duration) error {
	notify(d.logger, daemon.SdNotifyStopping)
	d.health.ready.Store(false)
	var errs []error
	if d.sys != nil {
		d.sys.Stop()
	}
	d.cancel()
	if d.log != nil {
		errs = append(errs, d.log.Close())
	}
	if d.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		errs = append(errs, d.http.Shutdown(ctx))
		cancel()
	}
	return errors.Join(errs...)
}
