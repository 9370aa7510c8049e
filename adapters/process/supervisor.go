package process

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
)

// causeOutputLines is how many lines of output a cause quotes.
const causeOutputLines = 5

// SupervisorConfig configures a Supervisor.
type SupervisorConfig struct {
	Service platform.Service // the definition; zero durations and counts take the platform defaults
	// Observe receives every observation, in order, on the supervisor's
	// goroutine. It must not block and must not call the Supervisor.
	Observe     func(Observation)
	Logger      hclog.Logger  // nil: discard
	Clock       clock.Clock   // nil: clock.Real
	PIDDir      string        // "": no pid files (then CleanupOrphans cannot find the processes)
	OutputLines int           // lines of output kept; 0: DefaultOutputLines
	KillWait    time.Duration // 0: DefaultKillWait
}

// Supervisor runs one service: it starts its process, decides when it is
// ready, watches it, restarts it by policy and stops it, and reports each
// step as an Observation. One goroutine owns all its state; the methods
// send it requests.
type Supervisor struct {
	svc     platform.Service
	spec    Spec
	opts    Options
	observe func(Observation)
	clk     clock.Clock
	log     hclog.Logger

	reqs   chan request
	probes chan probeResult
	stops  chan stopDone
	ctx    context.Context // ends when the loop ends; bounds the probes
	cancel context.CancelFunc
	done   chan struct{}

	// Owned by the run goroutine.
	phase          phase
	proc           *Process
	exitWatch      <-chan struct{} // proc.Done() while an exit would be unexpected
	starts         []time.Time     // spawn times within the start limit interval
	failures       int             // consecutive failures, for the backoff
	readyAt        time.Time
	probeSeq       uint64 // the probe whose result is awaited
	probeCancel    context.CancelFunc
	probeFails     int
	lastCheck      *CheckResult
	probeTimer     clock.Timer
	readyDeadline  clock.Timer
	restartTimer   clock.Timer
	intent         intent // what ends the stop in progress
	restartPlanned bool
	restartDelay   time.Duration
	cleanExit      bool
	failure        string // why the service is in phaseFailed
	stopWaiters    []chan error
	startWaiters   []chan error // Start requests waiting for a failure's cleanup to end
	readyWaiters   []chan error // WaitReady requests waiting for the start to end
	closing        bool
	closeWaiters   []chan error
}

type phase int

const (
	phaseStopped  phase = iota
	phaseStarting       // spawned, not ready yet
	phaseRunning        // ready
	phaseStopping       // a stop goroutine is at work; see intent
	phaseBackoff        // waiting to restart
	phaseFailed         // no restarts until Reset
)

// intent says what to do once a stop ends; a later, stronger request
// overrides a weaker one (a failure's restart never survives a Stop).
type intent int

const (
	intentFailure intent = iota // clean up after a failure, then restart or not as decided
	intentRestart               // Restart: report stopped, then start again
	intentStop                  // Stop or Close: report stopped
	intentReset                 // Reset: SIGKILL, clear the failure, report nothing
)

type requestKind int

const (
	reqStart requestKind = iota
	reqStop
	reqRestart
	reqReset
	reqReportReady
	reqReportFailed
	reqPID
	reqWaitReady
	reqClose
)

type request struct {
	kind   requestKind
	reason string
	reply  chan error
	pid    chan int
}

type probeResult struct {
	seq uint64
	res CheckResult
}

type stopDone struct {
	res StopResult
	err error
}

// NewSupervisor checks cfg and starts the supervisor's goroutine; the
// service itself stays stopped until Start.
func NewSupervisor(cfg SupervisorConfig) (*Supervisor, error) {
	svc := serviceDefaults(cfg.Service)
	spec, err := SpecOf(svc)
	if err != nil {
		return nil, err
	}
	if cfg.Observe == nil {
		return nil, serviceErr(svc.Name, "configure", fmt.Errorf("%w: no observer", ErrInvalidSpec))
	}
	for _, c := range []*platform.Check{svc.Readiness, svc.Liveness} {
		if c != nil && c.Kind != platform.CheckCommand && c.Kind != platform.CheckHTTP &&
			c.Kind != platform.CheckTCP && c.Kind != platform.CheckReport {
			return nil, serviceErr(svc.Name, "configure", fmt.Errorf("%w: unknown check kind %q", ErrInvalidSpec, c.Kind))
		}
	}
	if svc.Liveness != nil && svc.Liveness.Kind == platform.CheckReport {
		return nil, serviceErr(svc.Name, "configure", fmt.Errorf("%w: liveness cannot be a report check", ErrInvalidSpec))
	}
	opts := Options{Logger: cfg.Logger, Clock: cfg.Clock, PIDDir: cfg.PIDDir, OutputLines: cfg.OutputLines, KillWait: cfg.KillWait}.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Supervisor{
		svc: svc, spec: spec, opts: opts, observe: cfg.Observe, clk: opts.Clock,
		log:  opts.Logger.Named("supervisor").With("service", svc.Name),
		reqs: make(chan request), probes: make(chan probeResult, 1), stops: make(chan stopDone, 1),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	go s.run()
	return s, nil
}

func serviceDefaults(s platform.Service) platform.Service {
	if s.Restart.Policy == "" {
		s.Restart.Policy = platform.RestartOnFailure
	}
	if s.Restart.Delay <= 0 {
		s.Restart.Delay = platform.DefaultRestartDelay
	}
	if s.Restart.MaxDelay < s.Restart.Delay {
		s.Restart.MaxDelay = max(s.Restart.Delay, platform.DefaultRestartMaxDelay)
	}
	if s.StartLimit.Count <= 0 {
		s.StartLimit.Count = platform.DefaultStartLimitCount
	}
	if s.StartLimit.Interval <= 0 {
		s.StartLimit.Interval = platform.DefaultStartLimitSpan
	}
	s.Readiness, s.Liveness = checkDefaults(s.Readiness), checkDefaults(s.Liveness)
	return s
}

func checkDefaults(c *platform.Check) *platform.Check {
	if c == nil {
		return nil
	}
	d := *c
	if d.Interval <= 0 {
		d.Interval = platform.DefaultCheckInterval
	}
	if d.Timeout <= 0 {
		d.Timeout = min(platform.DefaultCheckTimeout, d.Interval)
	}
	if d.Threshold <= 0 {
		d.Threshold = platform.DefaultCheckThreshold
	}
	return &d
}

// Name returns the service's name.
func (s *Supervisor) Name() string { return s.svc.Name }

// ReadinessBound is how long a start may take to become ready before it
// is initialization_failed: the readiness check's Interval × Threshold.
func (s *Supervisor) ReadinessBound() time.Duration {
	if s.svc.Readiness == nil {
		return 0
	}
	return s.svc.Readiness.Interval * time.Duration(s.svc.Readiness.Threshold)
}

// Start spawns the service (the machine's start_process effect). It
// returns once the process is spawned; readiness is reported later as
// initialized or initialization_failed. Starting a started service does
// nothing; a failed one needs Reset first (ErrNeedsReset).
func (s *Supervisor) Start(ctx context.Context) error { return s.call(ctx, request{kind: reqStart}) }

// Stop stops the service (the stop_process effect) and waits until its
// process group is gone, or ctx ends (the stop goes on). It reports
// stopped, or stop_failed if the group survives SIGKILL. An intentional
// stop never leads to a restart.
func (s *Supervisor) Stop(ctx context.Context) error { return s.call(ctx, request{kind: reqStop}) }

// Restart stops the service, reports stopped, and starts it again; it
// returns once the new process is spawned.
func (s *Supervisor) Restart(ctx context.Context) error {
	return s.call(ctx, request{kind: reqRestart})
}

// Reset kills whatever is left of the service with SIGKILL (the
// stop_process(force=true) effect), cancels any pending restart and clears
// the failure and the start history, so it can be started again. It
// reports nothing: the machine moves on the Reset request itself.
func (s *Supervisor) Reset(ctx context.Context) error { return s.call(ctx, request{kind: reqReset}) }

// ReportReady is the service saying it is ready (the self-state path).
// With a report readiness check, it makes a starting service initialized;
// otherwise it is only logged.
func (s *Supervisor) ReportReady() error {
	return s.call(context.Background(), request{kind: reqReportReady})
}

// ReportFailed is the service saying it failed, and why. With a report
// readiness check, it makes a starting service initialization_failed
// (and restarted by policy). Once the service is running, a report does
// not move the machine: self-state is published separately.
func (s *Supervisor) ReportFailed(reason string) error {
	return s.call(context.Background(), request{kind: reqReportFailed, reason: reason})
}

// WaitReady waits until the service is ready (initialized), through any
// restarts by policy. It returns ErrNotReady with the cause once the
// service ends up failed (start limit, policy) or stopped, or if it is not
// started at all.
func (s *Supervisor) WaitReady(ctx context.Context) error {
	return s.call(ctx, request{kind: reqWaitReady})
}

// PID returns the pid of the service's process, 0 when none runs.
func (s *Supervisor) PID() int {
	pid := make(chan int, 1)
	if err := s.call(context.Background(), request{kind: reqPID, pid: pid}); err != nil {
		return 0
	}
	return <-pid
}

// Close stops the service if it runs (reporting stopped, as Stop does) and
// ends the supervisor; it waits for both, or for ctx. Later calls return
// ErrClosed.
func (s *Supervisor) Close(ctx context.Context) error {
	err := s.call(ctx, request{kind: reqClose})
	if errors.Is(err, ErrClosed) {
		return nil
	}
	if err != nil {
		return err
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return serviceErr(s.svc.Name, "close", ctx.Err())
	}
}

func (s *Supervisor) call(ctx context.Context, r request) error {
	r.reply = make(chan error, 1)
	select {
	case s.reqs <- r:
	case <-s.done:
		return serviceErr(s.svc.Name, r.kind.String(), ErrClosed)
	case <-ctx.Done():
		return serviceErr(s.svc.Name, r.kind.String(), ctx.Err())
	}
	select {
	case err := <-r.reply:
		return err
	case <-ctx.Done():
		return serviceErr(s.svc.Name, r.kind.String(), ctx.Err())
	}
}

func (k requestKind) String() string {
	return [...]string{"start", "stop", "restart", "reset", "report ready", "report failed", "pid", "wait ready", "close"}[k]
}

func timerC(t clock.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C()
}

func (s *Supervisor) run() {
	defer close(s.done)
	defer s.cancel()
	for {
		if s.closing && s.phase != phaseStopping {
			s.cancelChecks()
			stopTimer(&s.restartTimer)
			s.answerReady(serviceErr(s.svc.Name, "wait ready", ErrClosed))
			for _, w := range s.closeWaiters {
				w <- nil
			}
			return
		}
		select {
		case r := <-s.reqs:
			s.handle(r)
		case <-s.exitWatch:
			s.exitWatch = nil
			s.onExit()
		case r := <-s.probes:
			s.onProbe(r)
		case <-timerC(s.probeTimer):
			s.probeTimer = nil
			s.launchProbe()
		case <-timerC(s.readyDeadline):
			s.readyDeadline = nil
			s.onReadinessTimeout()
		case <-timerC(s.restartTimer):
			s.restartTimer = nil
			s.log.Info("restarting", "attempt", s.failures)
			_ = s.spawn() // a spawn failure is reported as an observation
		case r := <-s.stops:
			s.onStopped(r)
		}
	}
}

func (s *Supervisor) handle(r request) {
	switch r.kind {
	case reqStart:
		if s.phase == phaseStopping && s.intent == intentFailure {
			s.startWaiters = append(s.startWaiters, r.reply) // started once the cleanup ends
			return
		}
		r.reply <- s.onStart()
	case reqStop:
		s.onStop(r.reply)
	case reqRestart:
		s.onRestart(r.reply)
	case reqReset:
		s.onReset(r.reply)
	case reqReportReady:
		s.onReport(true, "")
		r.reply <- nil
	case reqReportFailed:
		s.onReport(false, r.reason)
		r.reply <- nil
	case reqPID:
		pid := 0
		if s.proc != nil {
			pid = s.proc.PID()
		}
		r.pid <- pid
		r.reply <- nil
	case reqWaitReady:
		switch s.phase {
		case phaseRunning:
			r.reply <- nil
		case phaseStarting, phaseBackoff:
			s.readyWaiters = append(s.readyWaiters, r.reply)
		case phaseStopping:
			if s.intent == intentFailure && s.restartPlanned {
				s.readyWaiters = append(s.readyWaiters, r.reply) // through the restart
			} else {
				r.reply <- serviceErr(s.svc.Name, "wait ready", fmt.Errorf("%w: it is being stopped", ErrNotReady))
			}
		case phaseFailed:
			r.reply <- serviceErr(s.svc.Name, "wait ready", fmt.Errorf("%w: %s", ErrNotReady, s.failure))
		default:
			r.reply <- serviceErr(s.svc.Name, "wait ready", fmt.Errorf("%w: it is not started", ErrNotReady))
		}
	case reqClose:
		s.closing = true
		s.closeWaiters = append(s.closeWaiters, r.reply)
		switch s.phase {
		case phaseStarting, phaseRunning:
			s.beginStop(intentStop, false)
		case phaseStopping:
			s.intent = max(s.intent, intentStop)
		case phaseBackoff:
			stopTimer(&s.restartTimer)
			s.phase = phaseStopped
			s.answerReady(errStopped(s.svc.Name))
			s.emit(Observation{Trigger: machine.ObservedStopped, Reason: ReasonStopped, Cause: "pending restart cancelled: supervisor closed"})
		}
	}
}

func (s *Supervisor) onStart() error {
	switch s.phase {
	case phaseStopped:
		s.clearHistory()
		return s.spawn()
	case phaseFailed:
		return serviceErr(s.svc.Name, "start", fmt.Errorf("%w (%s)", ErrNeedsReset, s.failure))
	case phaseStopping:
		return serviceErr(s.svc.Name, "start", ErrBusy)
	default:
		return nil // already starting, running or about to restart
	}
}

func (s *Supervisor) onStop(reply chan error) {
	switch s.phase {
	case phaseStarting, phaseRunning:
		s.beginStop(intentStop, false)
		s.stopWaiters = append(s.stopWaiters, reply)
	case phaseStopping:
		s.intent = max(s.intent, intentStop)
		s.stopWaiters = append(s.stopWaiters, reply)
	case phaseBackoff:
		stopTimer(&s.restartTimer)
		s.phase = phaseStopped
		s.answerReady(errStopped(s.svc.Name))
		s.emit(Observation{Trigger: machine.ObservedStopped, Reason: ReasonStopped, Cause: "pending restart cancelled by stop"})
		reply <- nil
	default:
		reply <- nil // nothing runs
	}
}

func (s *Supervisor) onRestart(reply chan error) {
	switch s.phase {
	case phaseStarting, phaseRunning:
		s.beginStop(intentRestart, false)
		s.stopWaiters = append(s.stopWaiters, reply)
	case phaseStopped, phaseBackoff:
		stopTimer(&s.restartTimer)
		s.phase = phaseStopped
		s.clearHistory()
		reply <- s.spawn()
	case phaseFailed:
		reply <- serviceErr(s.svc.Name, "restart", fmt.Errorf("%w (%s)", ErrNeedsReset, s.failure))
	case phaseStopping:
		reply <- serviceErr(s.svc.Name, "restart", ErrBusy)
	}
}

func (s *Supervisor) onReset(reply chan error) {
	switch s.phase {
	case phaseStarting, phaseRunning:
		s.beginStop(intentReset, true)
		s.stopWaiters = append(s.stopWaiters, reply)
	case phaseStopping:
		s.intent = intentReset
		s.proc.signal(syscall.SIGKILL)
		s.stopWaiters = append(s.stopWaiters, reply)
	default:
		stopTimer(&s.restartTimer)
		s.phase = phaseStopped
		s.clearHistory()
		s.answerReady(errStopped(s.svc.Name))
		reply <- nil
	}
}

func (s *Supervisor) onReport(ready bool, reason string) {
	reportReadiness := s.svc.Readiness != nil && s.svc.Readiness.Kind == platform.CheckReport
	if s.phase != phaseStarting || !reportReadiness {
		s.log.Debug("self report", "ready", ready, "reason", reason)
		return
	}
	if ready {
		s.becomeReady(nil, "the service reported ready")
		return
	}
	s.fail(machine.ObservedInitializationFailed, ReasonReport, "the service reported failure: "+reason, nil, nil)
}

func (s *Supervisor) clearHistory() {
	s.starts, s.failures, s.failure = nil, 0, ""
}

// spawn starts a process; a failure to spawn is reported as
// initialization_failed and restarted by policy like any other.
func (s *Supervisor) spawn() error {
	s.readyAt, s.probeFails, s.lastCheck = time.Time{}, 0, nil
	s.starts = append(s.starts, s.clk.Now())
	s.phase = phaseStarting
	p, err := Start(context.Background(), s.spec, s.opts)
	if err != nil {
		s.fail(machine.ObservedInitializationFailed, ReasonSpawn, "cannot start the process: "+err.Error(), nil, nil)
		return err
	}
	s.proc, s.exitWatch = p, p.Done()
	switch r := s.svc.Readiness; {
	case r == nil:
		s.becomeReady(nil, "started; no readiness check")
	case r.Kind == platform.CheckReport:
		s.readyDeadline = s.clk.NewTimer(s.ReadinessBound())
	default:
		s.readyDeadline = s.clk.NewTimer(s.ReadinessBound())
		s.launchProbe()
	}
	return nil
}

func (s *Supervisor) becomeReady(check *CheckResult, cause string) {
	s.cancelChecks()
	s.phase = phaseRunning
	s.readyAt = s.clk.Now()
	s.emit(Observation{Trigger: machine.ObservedInitialized, Reason: ReasonReady, Cause: cause, Check: check})
	s.answerReady(nil)
	if s.svc.Liveness != nil {
		s.probeTimer = s.clk.NewTimer(s.svc.Liveness.Interval)
	}
}

// launchProbe probes the readiness check while starting, the liveness
// check while running; one probe at a time.
func (s *Supervisor) launchProbe() {
	check := s.svc.Readiness
	if s.phase == phaseRunning {
		check = s.svc.Liveness
	}
	s.probeSeq++
	seq := s.probeSeq
	ctx, cancel := context.WithCancel(s.ctx)
	s.probeCancel = cancel
	go func() {
		res := Probe(ctx, *check, s.clk)
		select {
		case s.probes <- probeResult{seq: seq, res: res}:
		case <-s.ctx.Done():
		}
	}()
}

func (s *Supervisor) onProbe(r probeResult) {
	if r.seq != s.probeSeq || s.probeCancel == nil {
		return // from a probe cancelled since
	}
	s.probeCancel()
	s.probeCancel = nil
	res := r.res
	switch s.phase {
	case phaseStarting:
		if res.OK {
			s.becomeReady(&res, "ready: "+res.String())
			return
		}
		s.lastCheck = &res
		s.log.Debug("not ready yet", "check", res.String())
		s.probeTimer = s.clk.NewTimer(s.svc.Readiness.Interval)
	case phaseRunning:
		if res.OK {
			s.probeFails = 0
		} else {
			s.probeFails++
			s.log.Warn("liveness check failed", "check", res.String(), "failures", s.probeFails, "threshold", s.svc.Liveness.Threshold)
			if s.probeFails >= s.svc.Liveness.Threshold {
				s.fail(machine.ObservedRuntimeError, ReasonLiveness, "liveness check failed: "+res.String(), nil, &res)
				return
			}
		}
		s.probeTimer = s.clk.NewTimer(s.svc.Liveness.Interval)
	}
}

func (s *Supervisor) onReadinessTimeout() {
	cause := fmt.Sprintf("not ready within %s", s.ReadinessBound())
	switch {
	case s.lastCheck != nil:
		cause += ": " + s.lastCheck.String()
	case s.svc.Readiness.Kind == platform.CheckReport:
		cause += ": the service did not report"
	}
	s.fail(machine.ObservedInitializationFailed, ReasonReadiness, cause, nil, s.lastCheck)
}

func (s *Supervisor) onExit() {
	exit := s.proc.Exit()
	reason := ReasonExited
	if exit.Signal != 0 {
		reason = ReasonSignaled
	}
	if s.phase == phaseStarting {
		s.fail(machine.ObservedInitializationFailed, reason, "exited while starting: "+exit.String(), &exit, nil)
		return
	}
	s.fail(machine.ObservedRuntimeError, reason, "exited unexpectedly: "+exit.String(), &exit, nil)
}

// fail reports a failure, decides whether to restart, and cleans up what
// is left of the process group before restarting or giving up.
func (s *Supervisor) fail(trigger, reason, cause string, exit *ExitStatus, check *CheckResult) {
	s.cancelChecks()
	obs := Observation{Trigger: trigger, Reason: reason, Cause: cause, Exit: exit, Check: check}
	if s.proc != nil {
		obs.Output = s.proc.Output(causeOutputLines)
		if len(obs.Output) > 0 {
			obs.Cause += "; last output: " + strings.Join(obs.Output, " | ")
		}
	}
	verdict, st := decideRestart(s.svc.Restart, s.svc.StartLimit, restartState{starts: s.starts, failures: s.failures}, exit, s.readyAt, s.clk.Now())
	s.starts, s.failures = st.starts, st.failures
	restart, delay, thrashing := verdict.restart, verdict.delay, verdict.thrashing
	if thrashing != "" {
		obs.Reason = ReasonThrashing
		obs.Cause = thrashing + "; last failure: " + obs.Cause
	}
	obs.Restart, obs.RestartIn = restart, delay
	s.restartPlanned, s.restartDelay = restart, delay
	s.cleanExit = exit != nil && exit.Success() && thrashing == ""
	s.failure = obs.Cause
	s.emit(obs)
	if !restart {
		s.answerReady(serviceErr(s.svc.Name, "wait ready", fmt.Errorf("%w: %s", ErrNotReady, obs.Cause)))
	}
	if s.proc != nil {
		s.beginStop(intentFailure, false) // the process may live on (liveness) or leave group members
		return
	}
	s.afterFailure()
}

func (s *Supervisor) afterFailure() {
	switch {
	case s.restartPlanned && !s.closing:
		s.phase = phaseBackoff
		s.restartTimer = s.clk.NewTimer(s.restartDelay)
		return
	case s.cleanExit:
		s.phase = phaseStopped
	default:
		s.phase = phaseFailed
	}
	s.answerReady(serviceErr(s.svc.Name, "wait ready", fmt.Errorf("%w: %s", ErrNotReady, s.failure)))
}

func errStopped(name string) error {
	return serviceErr(name, "wait ready", fmt.Errorf("%w: it is being stopped", ErrNotReady))
}

func (s *Supervisor) beginStop(in intent, force bool) {
	s.cancelChecks()
	if in != intentFailure {
		s.answerReady(errStopped(s.svc.Name))
	}
	s.phase, s.intent, s.exitWatch = phaseStopping, in, nil
	p := s.proc
	go func() {
		var d stopDone
		if force {
			d.res, d.err = p.Kill(context.Background())
		} else {
			d.res, d.err = p.Stop(context.Background())
		}
		s.stops <- d
	}()
}

func (s *Supervisor) onStopped(d stopDone) {
	s.proc = nil
	waiters, starters := s.stopWaiters, s.startWaiters
	s.stopWaiters, s.startWaiters = nil, nil
	answer := func(err error) {
		for _, w := range waiters {
			w <- err
		}
	}
	if s.intent != intentFailure || d.err != nil {
		for _, w := range starters { // a stop, restart or reset overtook the start
			w <- serviceErr(s.svc.Name, "start", ErrBusy)
		}
		s.answerReady(errStopped(s.svc.Name))
	}
	if d.err != nil {
		s.phase, s.failure = phaseFailed, d.err.Error()
		s.emit(Observation{Trigger: machine.ObservedStopFailed, Reason: ReasonUnkillable, Cause: d.err.Error()})
		answer(d.err)
		return
	}
	switch s.intent {
	case intentFailure:
		s.afterFailure()
		for _, w := range starters {
			if s.closing {
				w <- serviceErr(s.svc.Name, "start", ErrClosed)
			} else {
				w <- s.onStart() // as if it came just now
			}
		}
	case intentReset:
		s.phase = phaseStopped
		s.clearHistory()
		answer(nil)
	case intentStop, intentRestart:
		s.phase = phaseStopped
		reason := ReasonStopped
		if d.res.Forced {
			reason = ReasonKilled
		}
		exit := d.res.Exit
		s.emit(Observation{Trigger: machine.ObservedStopped, Reason: reason, Cause: d.res.String(), Exit: &exit})
		if s.intent == intentRestart && !s.closing {
			s.clearHistory()
			answer(s.spawn())
			return
		}
		answer(nil)
	}
}

// answerReady ends every WaitReady.
func (s *Supervisor) answerReady(err error) {
	for _, w := range s.readyWaiters {
		w <- err
	}
	s.readyWaiters = nil
}

// cancelChecks stops the probe timer, the readiness deadline and any probe
// in flight.
func (s *Supervisor) cancelChecks() {
	stopTimer(&s.probeTimer)
	stopTimer(&s.readyDeadline)
	if s.probeCancel != nil {
		s.probeCancel()
		s.probeCancel = nil
	}
	s.probeSeq++
}

func stopTimer(t *clock.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

func (s *Supervisor) emit(o Observation) {
	o.Service = s.svc.Name
	s.log.Info("observation", "trigger", o.Trigger, "reason", o.Reason, "cause", o.Cause, "restart", o.Restart, "restart_in", o.RestartIn)
	s.observe(o)
}
