package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/process"
	"github.com/statemgr/statemgr/server/assembly"
)

// observer feeds what hardware and processes report to the component
// actors. It is bound to the System once that has recovered
// (assembly.Config.OnRecovered), and to the coordinator once the devices
// run (assembly.Config.Observer): a host
// crash goes to the coordinator (auto-reboot and its budget), and what the
// chassis reports wakes the coordinator's reconciliation (power loss and
// its return).
type observer struct {
	sys       atomic.Pointer[protoactor.System]
	co        atomic.Pointer[coordinator.Coordinator]
	reconcile chan struct{} // wakes the coordinator's reconciliation; never blocks a sender
	logger    hclog.Logger
}

func newObserver(logger hclog.Logger) *observer {
	return &observer{reconcile: make(chan struct{}, 1), logger: logger}
}

// Observe implements devices.Observer.
func (o *observer) Observe(ctx context.Context, id actors.ID, in machine.Input) error {
	sys := o.sys.Load()
	if sys == nil {
		return errNotStarted
	}
	co := o.co.Load()
	if crash := in.Trigger == machine.ObservedHostCrash || in.Trigger == machine.ObservedWatchdogExpired; crash && co != nil && id.Kind() == actors.KindHost {
		_, err := co.HostCrashed(ctx, id, in.Trigger == machine.ObservedWatchdogExpired)
		return err
	}
	_, err := sys.Request(ctx, id, in)
	if id.Kind() == actors.KindChassis {
		o.wakeReconcile()
	}
	return err
}

func (o *observer) wakeReconcile() {
	select {
	case o.reconcile <- struct{}{}:
	default:
	}
}

// thermal is the devices' OnThermal: a zone past its critical limit is an
// emergency for the coordinator. It must not block the zone's actor.
func (o *observer) thermal(ev devices.ThermalEvent) {
	if ev.Level != devices.ThermalCritical {
		return
	}
	co := o.co.Load()
	if co == nil {
		o.logger.Error("thermal critical before the coordinator runs; its reconciliation will see it", "zone", ev.Zone, "celsius", ev.Celsius)
		return
	}
	evidence := fmt.Sprintf("sensor %s of zone %s at %.1f °C, critical limit %.1f °C", ev.Sensor, ev.Zone, ev.Celsius, ev.Critical)
	go func() {
		if _, err := co.Emergency(context.Background(), coordinator.ThermalCritical, ev.Zone, evidence); err != nil {
			o.logger.Error("cannot start the thermal emergency", "zone", ev.Zone, "error", err)
		}
	}()
}

// reconcileLoop runs the coordinator's reconciliation every interval and
// whenever the chassis reports something, until ctx ends.
func (o *observer) reconcileLoop(ctx context.Context, co *coordinator.Coordinator, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-o.reconcile:
		}
		if err := co.Reconcile(ctx); err != nil && ctx.Err() == nil {
			o.logger.Warn("coordinator reconciliation incomplete", "error", err)
		}
	}
}

// Status implements devices.Observer.
func (o *observer) Status(ctx context.Context, id actors.ID) (machine.Status, error) {
	sys := o.sys.Load()
	if sys == nil {
		return machine.Status{}, errNotStarted
	}
	v, err := sys.Get(ctx, id)
	if err != nil {
		return machine.Status{}, err
	}
	return v.Status, nil
}

// serviceWorkers are the platform's services as the assembly's Services:
// each service's effects go to its worker, and the services resume from
// the log once the devices run.
type serviceWorkers struct {
	byID   map[actors.ID]*serviceWorker
	order  []string // start order
	logger hclog.Logger
}

var _ assembly.ServiceResumer = (*serviceWorkers)(nil)

// Perform implements protoactor.Effector.
func (ws *serviceWorkers) Perform(id actors.ID, effects []machine.Effect) {
	w, ok := ws.byID[id]
	if !ok {
		ws.logger.Error("effects of a service the platform does not supervise; not performed", "component", id, "effects", len(effects))
		return
	}
	w.enqueue(effects)
}

// run starts every worker, until ctx ends.
func (ws *serviceWorkers) run(ctx context.Context) {
	for _, w := range ws.byID {
		go w.run(ctx)
	}
}

// queue hands items from producers that must not block to one consumer
// goroutine, in order.
type queue[T any] struct {
	mu    sync.Mutex
	items []T
	wake  chan struct{}
}

func newQueue[T any]() *queue[T] { return &queue[T]{wake: make(chan struct{}, 1)} }

func (q *queue[T]) push(items ...T) {
	q.mu.Lock()
	q.items = append(q.items, items...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run passes every item to fn, in order, until ctx ends.
func (q *queue[T]) run(ctx context.Context, fn func(T)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		for {
			q.mu.Lock()
			if len(q.items) == 0 {
				q.mu.Unlock()
				break
			}
			item := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			fn(item)
		}
	}
}

// serviceWorker connects one service's component and its supervisor: it
// performs the component's effects on the supervisor, and delivers the
// supervisor's observations to the component, each in order on its own
// goroutine, so neither side ever waits for the other.
type serviceWorker struct {
	id           actors.ID
	sup          *process.Supervisor
	obs          *observer
	logger       hclog.Logger
	effects      *queue[machine.Effect]
	observations *queue[machine.Input]
	// cleanup is the stopping of the process a previous daemon left of
	// this service, nil if it left none. No process is started before it
	// has ended: two would run, and its end removes the pid file.
	cleanup *process.Cleanup
}

// leftover says what is left of the previous daemon's process, for
// actors.ResumeService.
func (w *serviceWorker) leftover() actors.Leftover {
	if w.cleanup == nil {
		return actors.Leftover{Evidence: "no pid file: no process of it was left running"}
	}
	f := w.cleanup.Found()
	found := fmt.Sprintf("pid %d (group %d, live members %v at startup)", f.PID, f.PGID, f.Members)
	select {
	case <-w.cleanup.Done():
	default:
		return actors.Leftover{Stopping: true, Evidence: fmt.Sprintf("%s: %s sent by the startup cleanup, SIGKILL after %s", found, f.Signal, f.StopTimeout)}
	}
	o, err := w.cleanup.Result()
	how := map[process.OrphanAction]string{
		process.OrphanGone:       "already gone at startup",
		process.OrphanStopped:    "ended after the startup cleanup's " + f.Signal,
		process.OrphanKilled:     fmt.Sprintf("killed by the startup cleanup's SIGKILL, %s after its %s", f.StopTimeout, f.Signal),
		process.OrphanUnkillable: "survived the startup cleanup's SIGKILL",
		process.OrphanReused:     "not ours any more (the pid belongs to a newer process): left alone",
		process.OrphanStaleBoot:  "from an earlier boot: nothing of it runs",
	}[o.Action]
	if how == "" {
		how = string(o.Action)
	}
	left := actors.Leftover{Survived: o.Action == process.OrphanUnkillable, Evidence: found + ": " + how}
	if err != nil {
		left.Evidence += fmt.Sprintf(" (%v)", err)
	}
	return left
}

// awaitCleanup waits for the cleanup of the previous daemon's process, if
// any; false if ctx ended first.
func (w *serviceWorker) awaitCleanup(ctx context.Context) bool {
	if w.cleanup == nil {
		return true
	}
	select {
	case <-w.cleanup.Done():
		return true
	case <-ctx.Done():
		return false
	}
}

func newServiceWorker(id actors.ID, obs *observer, logger hclog.Logger) *serviceWorker {
	return &serviceWorker{id: id, obs: obs, logger: logger, effects: newQueue[machine.Effect](), observations: newQueue[machine.Input]()}
}

func (w *serviceWorker) enqueue(effects []machine.Effect) { w.effects.push(effects...) }

// observe is the supervisor's Observe callback.
func (w *serviceWorker) observe(o process.Observation) { w.observations.push(o.Input()) }

// run serves both queues until ctx ends.
func (w *serviceWorker) run(ctx context.Context) {
	go w.observations.run(ctx, func(in machine.Input) {
		if err := w.obs.Observe(ctx, w.id, in); err != nil && ctx.Err() == nil {
			w.logger.Error("cannot record a service observation", "trigger", in.Trigger, "cause", in.Cause, "error", err)
		}
	})
	w.effects.run(ctx, func(e machine.Effect) { w.perform(ctx, e) })
}

// perform runs one effect. A failure the supervisor did not report itself
// reaches the component as an observation, never only a log line.
func (w *serviceWorker) perform(ctx context.Context, e machine.Effect) {
	var err error
	failed := machine.ObservedInitializationFailed
	switch {
	case e.Name == "start_process":
		if !w.awaitCleanup(ctx) {
			return
		}
		err = w.sup.Start(ctx)
	case e.Name == "stop_process" && e.Params["force"] == "true":
		err = w.sup.Reset(ctx)
		failed = machine.ObservedStopFailed
	case e.Name == "stop_process":
		err = w.sup.Stop(ctx)
		failed = machine.ObservedStopFailed
	default:
		w.logger.Debug("effect needs no process action", "effect", e.Name)
		return
	}
	if err == nil || ctx.Err() != nil {
		return
	}
	w.logger.Error("service effect failed", "effect", e.Name, "error", err)
	in := machine.Input{Kind: machine.KindObservation, Trigger: failed, Cause: fmt.Sprintf("%s failed: %v", e.Name, err)}
	if oerr := w.obs.Observe(ctx, w.id, in); oerr != nil {
		w.logger.Error("cannot report the failed effect", "effect", e.Name, "error", oerr)
	}
}

// Resume implements assembly.ServiceResumer: it brings the services back
// to what the log says when the daemon starts (actors.ResumeService). It records at once what a cleanup
// still stopping a previous daemon's process leaves to say (a running
// service lost its process), and returns: the rest, once each service's
// old process is gone, runs in the background in start order, so the API
// never waits for a supervised process's stop timeout. A service whose
// component changed meanwhile (an operator acted on it) is left as it is.
func (ws *serviceWorkers) Resume(ctx context.Context, sys *protoactor.System) error {
	before := map[actors.ID]machine.Status{}
	waiting := false
	for _, name := range ws.order {
		w := ws.byID[actors.ID(actors.KindService+"."+name)]
		v, err := sys.Get(ctx, w.id)
		if err != nil {
			return err
		}
		before[w.id] = v.Status
		if left := w.leftover(); left.Stopping {
			waiting = true
			if before[w.id], err = resumeService(ctx, sys, w, v.Status, left); err != nil {
				return err
			}
		}
	}
	finish := func() error {
		for _, name := range ws.order {
			w := ws.byID[actors.ID(actors.KindService+"."+name)]
			if !w.awaitCleanup(ctx) {
				return ctx.Err()
			}
			v, err := sys.Get(ctx, w.id)
			if err != nil {
				return err
			}
			left := w.leftover()
			if was := before[w.id]; v.Status.State != was.State || v.Status.Transitions != was.Transitions {
				w.logger.Warn("service changed while the process of the previous daemon was stopped; left as it is", "state", v.Status.State, "cleanup", left.Evidence)
				continue
			}
			if _, err := resumeService(ctx, sys, w, v.Status, left); err != nil {
				return err
			}
		}
		return nil
	}
	if !waiting {
		return finish()
	}
	go func() {
		if err := finish(); err != nil && ctx.Err() == nil {
			ws.logger.Error("cannot resume the services", "error", err)
		}
	}()
	return nil
}

// resumeService records what actors.ResumeService decides for one service
// and starts its process if that says so; it returns the status after.
func resumeService(ctx context.Context, sys *protoactor.System, w *serviceWorker, st machine.Status, left actors.Leftover) (machine.Status, error) {
	in, start := actors.ResumeService(st, left)
	if in == nil {
		w.logger.Info("service left as the log has it", "state", st.State, "cleanup", left.Evidence)
		return st, nil
	}
	out, err := sys.Request(ctx, w.id, *in)
	if err != nil {
		return machine.Status{}, fmt.Errorf("cannot resume %s: %w", w.id, err)
	}
	if start {
		if err := w.sup.Start(ctx); err != nil {
			return machine.Status{}, fmt.Errorf("cannot restart %s: %w", w.id, err)
		}
	}
	return out.View.Status, nil
}
