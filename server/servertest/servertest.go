package servertest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/sim/clock"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

// Options tune Start; the zero value is the default platform over an
// in-memory log with no NATS users.
type Options struct {
	Platform *platform.Platform // nil: platform.Default()
	Log      events.Log         // nil: a new memlog; Start does not close a given log
	Users    []server.User      // users of the embedded NATS server
	Server   server.Config      // Conn, System, Log, Platform and Logger are filled in
}

// Env is a running server.
type Env struct {
	Logger   hclog.Logger
	NATS     *natsserver.Server
	URL      string     // client URL of the embedded server
	Conn     *nats.Conn // the server's own (in-process) connection
	System   *protoactor.System
	Log      events.Log
	Server   *server.Server
	Platform *platform.Platform
}

// Start starts everything and stops it at the end of the test.
func Start(tb testing.TB, opts Options) *Env {
	tb.Helper()
	out := &testWriter{tb: tb}
	tb.Cleanup(out.close) // registered first, so it runs after every other cleanup
	logger := hclog.New(&hclog.LoggerOptions{Name: "statemgr", Level: hclog.Warn, Output: out})
	plat := opts.Platform
	if plat == nil {
		plat = platform.Default()
	}
	comps, err := plat.Components()
	if err != nil {
		tb.Fatal(err)
	}
	compiled := map[actors.ID]*machine.Compiled{}
	for _, c := range comps {
		m, err := machine.Compile(c.Machine)
		if err != nil {
			tb.Fatal(err)
		}
		compiled[actors.ID(c.ID)] = m
	}
	log := opts.Log
	if log == nil {
		mem := memlog.New()
		log = mem
		tb.Cleanup(func() { _ = mem.Close() })
	}
	sys, err := protoactor.Start(protoactor.Config{Log: log, Snapshots: memsnap.New(), Clock: clock.Real{}, Logger: logger}, compiled)
	if err != nil {
		tb.Fatal(err)
	}
	ns, err := server.StartNATS(server.NATSConfig{Port: -1, Users: opts.Users, Logger: logger})
	if err != nil {
		sys.Stop()
		tb.Fatal(err)
	}
	nc, err := server.ConnectInProcess(ns, server.LogAsyncErrors(logger))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := opts.Server
	cfg.Conn, cfg.System, cfg.Log, cfg.Platform, cfg.Logger = nc, sys, log, plat, logger
	// With users, clients reach the daemon through account imports that
	// carry their identity, as in the daemon.
	cfg.TrustRequestInfo = cfg.TrustRequestInfo || len(opts.Users) > 0
	srv, err := server.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = srv.Stop()
		sys.Stop()
		_ = nc.Drain()
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return &Env{Logger: logger, NATS: ns, URL: ns.ClientURL(), Conn: nc, System: sys, Log: log, Server: srv, Platform: plat}
}

// Connect opens a client connection over TCP, closed at the end of the
// test. Its asynchronous errors go to the test log unless opts handle them.
func (e *Env) Connect(tb testing.TB, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(e.URL, append([]nats.Option{server.LogAsyncErrors(e.Logger)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// Observe reports a hardware observation to a component, as an adapter
// would, and returns once the server has published its records (so reads
// and subscribers see it).
func (e *Env) Observe(tb testing.TB, id, trigger string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := e.System.Request(ctx, actors.ID(id), machine.Input{Kind: machine.KindObservation, Trigger: trigger})
	if err != nil {
		tb.Fatalf("observe %s on %s: %v", trigger, id, err)
	}
	if n := len(out.Stored); n > 0 {
		for e.Server.Published() < out.Stored[n-1].GlobalSeq {
			if ctx.Err() != nil {
				tb.Fatalf("observe %s on %s: record %d never published", trigger, id, out.Stored[n-1].GlobalSeq)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// PowerChassis brings a chassis to On as hardware would with no hardware
// attached: good input power observed, On requested, power good observed.
// Hosts need it before they can be powered on.
func (e *Env) PowerChassis(tb testing.TB, id string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, in := range []machine.Input{
		{Kind: machine.KindObservation, Trigger: machine.ObservedPowerStatus, Value: machine.PowerStatusGood},
		{Kind: machine.KindRequest, Trigger: machine.RequestOn, Requester: "servertest"},
	} {
		if _, err := e.System.Request(ctx, actors.ID(id), in); err != nil {
			tb.Fatalf("power %s on: %s: %v", id, in.Trigger, err)
		}
	}
	e.Observe(tb, id, machine.ObservedPowerGoodAsserted)
}

// testWriter sends log output to the test's log until the test ends;
// goroutines that log later write nowhere.
type testWriter struct {
	mu     sync.Mutex
	tb     testing.TB
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}
