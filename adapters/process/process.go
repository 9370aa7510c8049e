package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// outputGrace is how long the waiter lets the output readers drain after
// the process exits before it closes the pipes: a grandchild outside the
// group may hold them open forever.
const outputGrace = 200 * time.Millisecond

// groupPoll is how often a stop checks whether the group has vanished.
const groupPoll = 20 * time.Millisecond

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code   int            // exit code; -1 when killed by a signal
	Signal syscall.Signal // the signal that killed it; 0 when it exited
	Err    error          // an error waiting for it, other than a non-zero exit
}

// Success reports whether the process exited with code 0.
func (e ExitStatus) Success() bool { return e.Code == 0 && e.Signal == 0 && e.Err == nil }

// String describes the status: "exit code 3", "killed by SIGKILL".
func (e ExitStatus) String() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("wait failed: %v", e.Err)
	case e.Signal != 0:
		return "killed by " + signalName(e.Signal)
	default:
		return fmt.Sprintf("exit code %d", e.Code)
	}
}

// StopResult is how a stop went.
type StopResult struct {
	Signal syscall.Signal // the stop signal sent first
	Forced bool           // the group outlived the stop timeout and was sent SIGKILL
	Exit   ExitStatus     // how the group leader ended
}

// String describes the stop for a transition cause.
func (r StopResult) String() string {
	if r.Forced {
		return fmt.Sprintf("killed with SIGKILL after the stop timeout (%s sent first; %s)", signalName(r.Signal), r.Exit)
	}
	return fmt.Sprintf("stopped by %s (%s)", signalName(r.Signal), r.Exit)
}

// Process is one running service process, leader of its own process group.
// Exactly one goroutine waits for it; Done reports its exit.
type Process struct {
	spec    Spec
	opts    Options
	log     hclog.Logger
	cmd     *exec.Cmd
	pid     int
	pidFile string // "" without a pid file
	output  *ring
	done    chan struct{}
	exit    ExitStatus // written once, before done is closed
}

// Start spawns spec's process in a process group of its own, with its
// environment, working directory and user, its output logged line by line,
// and (with opts.PIDDir) a pid file that lets CleanupOrphans find it should
// the daemon die. ctx only bounds the start: a process once started runs
// until it exits or is stopped.
func Start(ctx context.Context, spec Spec, opts Options) (*Process, error) {
	spec, opts = spec.withDefaults(), opts.withDefaults()
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, serviceErr(spec.Name, "start", err)
	}
	cred, err := credential(spec.User, os.Geteuid())
	if err != nil {
		return nil, serviceErr(spec.Name, "start", err)
	}
	cmd := exec.Command(spec.Command, spec.Args...)
	cmd.Env = environ(spec.Env)
	cmd.Dir = spec.WorkingDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, serviceErr(spec.Name, "start", fmt.Errorf("%w: stdout pipe: %w", ErrSpawn, err))
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(outR, outW)
		return nil, serviceErr(spec.Name, "start", fmt.Errorf("%w: stderr pipe: %w", ErrSpawn, err))
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	closeAll(outW, errW) // the child has its own copies
	if err != nil {
		closeAll(outR, errR)
		return nil, serviceErr(spec.Name, "start", fmt.Errorf("%w: %w", ErrSpawn, err))
	}
	p := &Process{
		spec: spec, opts: opts, log: opts.Logger.Named(spec.Name).With("pid", cmd.Process.Pid),
		cmd: cmd, pid: cmd.Process.Pid, output: newRing(opts.OutputLines),
		done: make(chan struct{}),
	}
	var readers sync.WaitGroup
	readers.Go(func() { capture(outR, "stdout", p.log, p.output) })
	readers.Go(func() { capture(errR, "stderr", p.log, p.output) })
	p.log.Info("process started", "command", spec.Command, "args", spec.Args)
	var pidErr error
	if opts.PIDDir != "" {
		// Written before the waiter runs: until it reaps the process, the
		// pid cannot be reused, and the waiter may remove the file.
		pidErr = p.writePIDFile()
	}
	go p.wait(&readers, outR, errR)
	if pidErr != nil {
		// A process statemgr could not record could outlive a crash
		// unnoticed: do not keep it.
		p.log.Error("cannot write pid file; killing the process", "error", pidErr)
		if _, err := p.Kill(context.Background()); err != nil {
			pidErr = errors.Join(pidErr, err)
		}
		return nil, serviceErr(spec.Name, "start", pidErr)
	}
	return p, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close() // pipe ends: nothing to flush, and nothing to do on failure
	}
}

// wait is the only goroutine that waits for the process. It lets the
// output drain (bounded by outputGrace), records the exit and removes the
// pid file once the whole group is gone.
func (p *Process) wait(readers *sync.WaitGroup, pipes ...*os.File) {
	err := p.cmd.Wait()
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	t := p.opts.Clock.NewTimer(outputGrace)
	select {
	case <-drained:
	case <-t.C():
		closeAll(pipes...) // unblocks the readers
		<-drained
	}
	t.Stop()
	closeAll(pipes...)
	p.exit = exitStatus(p.cmd.ProcessState, err)
	p.log.Info("process exited", "status", p.exit.String())
	if members, gerr := groupMembers(p.pid); gerr == nil && len(members) == 0 {
		p.removePIDFile()
	}
	close(p.done)
}

func exitStatus(ps *os.ProcessState, err error) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1, Err: err}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ExitStatus{Code: -1, Signal: ws.Signal()}
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return ExitStatus{Code: ps.ExitCode(), Err: err}
	}
	return ExitStatus{Code: ps.ExitCode()}
}

// PID returns the process id, which is also its process group id.
func (p *Process) PID() int { return p.pid }

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit returns how the process ended; it is meaningful once Done is closed.
func (p *Process) Exit() ExitStatus {
	select {
	case <-p.done:
		return p.exit
	default:
		return ExitStatus{Code: -1, Err: errors.New("process is still running")}
	}
}

// Output returns up to n of the last lines of output, oldest first, each
// prefixed with its stream ("stderr: ...").
func (p *Process) Output(n int) []string { return p.output.last(n) }

// Stop sends the stop signal to the whole process group and waits, up to
// the stop timeout on the clock, for the leader to exit and the group to
// vanish; then it sends SIGKILL to the group and waits up to the kill wait.
// If ctx ends first, Stop goes straight to SIGKILL. It returns
// ErrUnkillable if the group survives SIGKILL. Stop may be called after the
// process has exited (it then cleans up what is left of the group) and
// concurrently with Kill.
func (p *Process) Stop(ctx context.Context) (StopResult, error) {
	res := StopResult{Signal: p.spec.StopSignal}
	p.signal(p.spec.StopSignal)
	t := p.opts.Clock.NewTimer(p.spec.StopTimeout)
	defer t.Stop()
	if p.awaitGone(ctx.Done(), t.C()) {
		res.Exit = p.Exit()
		p.removePIDFile()
		p.log.Info("process stopped", "how", res.String())
		return res, nil
	}
	res.Forced = true
	p.log.Warn("stop timeout passed; sending SIGKILL to the process group", "timeout", p.spec.StopTimeout)
	kres, err := p.Kill(context.Background())
	res.Exit = kres.Exit
	return res, err
}

// Kill sends SIGKILL to the whole process group and waits up to the kill
// wait for it to vanish; ErrUnkillable if it does not.
func (p *Process) Kill(ctx context.Context) (StopResult, error) {
	res := StopResult{Signal: syscall.SIGKILL, Forced: true}
	p.signal(syscall.SIGKILL)
	t := p.opts.Clock.NewTimer(p.opts.KillWait)
	defer t.Stop()
	if !p.awaitGone(ctx.Done(), t.C()) {
		members, _ := groupMembers(p.pid)
		return res, serviceErr(p.spec.Name, "kill", fmt.Errorf("%w: group %d, live members %v after %s", ErrUnkillable, p.pid, members, p.opts.KillWait))
	}
	res.Exit = p.Exit()
	p.removePIDFile()
	return res, nil
}

// signal sends sig to the leader (through its pidfd, safe against pid
// reuse, in case it left its group) and to the group.
func (p *Process) signal(sig syscall.Signal) {
	select {
	case <-p.done:
		// The leader is reaped, so its pid is free once its group is
		// empty: signal the group only while members are left.
		if members, err := groupMembers(p.pid); err == nil && len(members) == 0 {
			return
		}
	default:
		if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			p.log.Warn("cannot signal the process", "signal", signalName(sig), "error", err)
		}
	}
	if err := signalGroup(p.pid, sig); err != nil {
		p.log.Warn("cannot signal the process group", "error", err)
	}
}

// awaitGone waits until the leader has been reaped and no live process is
// left in its group, or until stop or deadline; it reports whether the
// group is gone.
func (p *Process) awaitGone(stop <-chan struct{}, deadline <-chan time.Time) bool {
	select {
	case <-p.done:
	case <-stop:
		return false
	case <-deadline:
		return false
	}
	for {
		members, err := groupMembers(p.pid)
		if err == nil && len(members) == 0 {
			return true
		}
		poll := p.opts.Clock.NewTimer(groupPoll)
		select {
		case <-poll.C():
		case <-stop:
			poll.Stop()
			return false
		case <-deadline:
			poll.Stop()
			return false
		}
	}
}

func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return sig.String()
}
