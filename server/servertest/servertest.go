package servertest

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/actors/saga"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/assembly"
	"github.com/statemgr/statemgr/server/inputs"
	"github.com/statemgr/statemgr/snapshots/memsnap"
)

// Options tune Start; the zero value is the default platform over an
// in-memory log with no NATS users.
type Options struct {
	Platform *platform.Platform // nil: platform.Default(); its button timings become FastButtons'
	Log      events.Log         // nil: a new memlog; Start does not close a given log
	Users    []server.User      // users of the embedded NATS server
	TLS      *tls.Config        // the embedded NATS server's TLS (server.ServerTLS); nil: plain TCP
	// MaxPayload is the embedded NATS server's; 0 = its default (1 MiB).
	MaxPayload int32
	Server     server.Config // Conn, System, Operations, Log, Platform and Logger are filled in
	// Policy is the coordinator's; its timeouts are FastTimeouts.
	Policy coordinator.Policy
	// Services performs the effects of service components (start_process,
	// stop_process); nil: nobody does, and tests report the services'
	// observations themselves.
	Services protoactor.Effector
	// Inputs receives the platform's external inputs and is read by the
	// coordinator (its own clock times their staleness); nil: none.
	Inputs *inputs.Store
}

// Env is a running server.
type Env struct {
	Logger hclog.Logger
	NATS   *natsserver.Server
	URL    string     // client URL of the embedded server
	Conn   *nats.Conn // the server's own (in-process) connection
	System *protoactor.System
	// Coordinator runs the power operations on Hardware, the platform's
	// devices over Sim, a simulated platform with FastSim's delays.
	Coordinator *coordinator.Coordinator
	Hardware    *devices.Hardware
	Sim         *simhw.Platform
	Log         events.Log
	Server      *server.Server
	Platform    *platform.Platform

	asmCfg   assembly.Config
	srvCfg   server.Config
	mu       sync.Mutex // held by a restart
	asm      *assembly.Assembly
	stopped  bool
	restarts sync.WaitGroup
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
	plat = FastButtons(plat)
	compiled, err := plat.Compiled()
	if err != nil {
		tb.Fatal(err)
	}
	log := opts.Log
	if log == nil {
		mem := memlog.New()
		log = mem
		tb.Cleanup(func() { _ = mem.Close() })
	}
	sim, err := simhw.New(clock.Real{}, FastSim(plat))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sim.Close() }) // after the assembly's Stop
	ns, err := server.StartNATS(server.NATSConfig{Port: -1, Users: opts.Users, TLS: opts.TLS, MaxPayload: opts.MaxPayload, Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	nc, err := server.ConnectInProcess(ns, server.LogAsyncErrors(logger))
	if err != nil {
		ns.Shutdown()
		tb.Fatal(err)
	}
	env := &Env{Logger: logger, NATS: ns, URL: ns.ClientURL(), Conn: nc, Sim: sim, Log: log, Platform: plat}
	// The daemon's assembly, on the real clock over a FastSim board, as a
	// daemon started within a BMC boot (no BMC boot is recorded). The
	// platform's restart-daemon BMC reset restarts it (see restart).
	env.asmCfg = assembly.Config{Platform: plat, Compiled: compiled, Log: log,
		Snapshots: memsnap.New(), Clock: clock.Real{}, Logger: logger,
		Devices: devices.Config{Sim: sim, PollInterval: 50 * time.Millisecond, ReconcileInterval: time.Hour,
			RebootBMC: env.rebootBMC},
		Services: opts.Services, Policy: opts.Policy, Timeouts: FastTimeouts(), Inputs: opts.Inputs}
	env.srvCfg = opts.Server
	env.srvCfg.Conn, env.srvCfg.Log, env.srvCfg.Platform, env.srvCfg.Logger = nc, log, plat, logger
	if opts.Inputs != nil {
		env.srvCfg.Inputs = opts.Inputs
	}
	// With users, clients reach the daemon through account imports that
	// carry their identity, as in the daemon.
	env.srvCfg.TrustRequestInfo = env.srvCfg.TrustRequestInfo || len(opts.Users) > 0
	tb.Cleanup(func() {
		env.mu.Lock()
		env.stopped = true
		env.stop()
		env.mu.Unlock()
		env.restarts.Wait()
		_ = nc.Drain()
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if err := env.start(machine.Input{}); err != nil {
		tb.Fatal(err)
	}
	return env
}

// start starts the assembly and the API over it; boot, if set, is the
// BMC boot to record first.
func (e *Env) start(boot machine.Input) error {
	cfg := e.asmCfg
	cfg.BMCBoot = boot
	asm, err := assembly.Start(context.Background(), cfg)
	if err != nil {
		return err
	}
	e.asm, e.System, e.Coordinator, e.Hardware = asm, asm.System, asm.Coordinator, asm.Hardware
	srvCfg := e.srvCfg
	srvCfg.System, srvCfg.Operations, srvCfg.PSUs, srvCfg.LEDs = asm.System, asm.Coordinator, assembly.PSUs{Hardware: asm.Hardware}, asm.LEDs
	if e.Server, err = server.New(srvCfg); err != nil {
		return err
	}
	return e.Server.Start()
}

// stop stops the API, then the assembly.
func (e *Env) stop() {
	if e.Server != nil {
		_ = e.Server.Stop()
		e.Server = nil
	}
	if e.asm != nil {
		_ = e.asm.Stop(context.Background())
		e.asm = nil
	}
}

// rebootBMC is the platform's restart-daemon BMC reset: what the BMC's
// reboot would do to statemgrd. It runs beside the device actor that
// performs reboot_bmc, since stopping waits for that actor.
func (e *Env) rebootBMC(context.Context, bool) error {
	e.restarts.Add(1)
	go e.restart()
	return nil
}

// restart stops the API and the assembly and starts them again over the
// same log and board, recording a BMC boot with reboot cause Software. The
// Env's System, Coordinator, Hardware and Server change: a test that
// resets the BMC reads them only after it has seen the BMC Ready again.
func (e *Env) restart() {
	defer e.restarts.Done()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return
	}
	e.stop()
	boot := machine.Input{Value: machine.RebootCauseSoftware, Cause: "BMC reset (restart-daemon): BMC boot (reboot cause " + machine.RebootCauseSoftware + ")"}
	if err := e.start(boot); err != nil {
		e.Logger.Error("servertest: cannot start again after the BMC reset", "error", err)
	}
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

// PowerChassis powers a chassis on through the coordinator, as
// statemgr.chassis.power.on does, and waits for the outcome. Hosts need
// it before they can be powered on.
func (e *Env) PowerChassis(tb testing.TB, id string) {
	tb.Helper()
	e.Do(tb, coordinator.Request{Kind: coordinator.ChassisPowerOn, Target: actors.ID(id), Requester: "servertest"})
}

// Do runs a coordinator operation to its outcome and fails the test unless
// it succeeded; then the server has published every record it wrote.
func (e *Env) Do(tb testing.TB, req coordinator.Request) coordinator.Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.Coordinator.Do(ctx, req)
	if err != nil || res.Outcome != saga.Succeeded {
		tb.Fatalf("%s %s: %+v, %v", req.Kind, req.Target, res, err)
	}
	e.WaitPublished(tb)
	return res
}

// WaitPublished waits until the server has published everything in the log.
func (e *Env) WaitPublished(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	head, err := e.Log.Head(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for e.Server.Published() < head {
		if ctx.Err() != nil {
			tb.Fatalf("record %d never published", head)
		}
		time.Sleep(100 * time.Microsecond)
	}
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
