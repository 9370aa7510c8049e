// Package process runs supervised services as real operating-system
// processes and turns their lives into the service machine's observations.
//
// # Processes
//
// Start spawns one service (Spec: command, arguments, environment added
// to the daemon's, working directory, optional user) as the leader of a
// process group of its own (Setpgid). Running as another user sets
// SysProcAttr.Credential and needs the daemon to run as root; otherwise
// Start fails with ErrUser. Standard output and error are read line by
// line (each line cut at MaxLineBytes) into the hclog logger and a small
// ring of the last lines, which error reports quote. Exactly one goroutine
// waits for the process; Done and Exit report how it ended (exit code or
// signal). Stop sends the stop signal (SIGTERM by default) to the whole
// group, waits up to the stop timeout, then sends SIGKILL to the group and
// waits up to the kill wait; StopResult.Forced says whether SIGKILL was
// needed, and ErrUnkillable reports a group that survived it.
//
// Every wait goes through the injected clock.Clock. The package's tests run
// real processes on the real clock, with stop timeouts of a few hundred
// milliseconds: what they check is how the kernel, signals and process
// groups behave, which a virtual clock cannot drive.
//
// # Supervisor
//
// A Supervisor owns one service. Its methods map the machine's effects:
// Start (start_process), Stop (stop_process), Reset
// (stop_process(force=true)), plus Restart. One goroutine owns its state;
// it reports to the Observe callback, in order:
//
//	what happened                                    trigger                 reason
//	spawned, readiness passed (or none declared)     initialized             ready
//	readiness not passed within Interval×Threshold   initialization_failed   readiness
//	the process exited while starting                initialization_failed   exited, signaled
//	the service reported failure while starting      initialization_failed   report
//	the process could not be spawned                 initialization_failed   spawn
//	the process exited while running                 runtime_error           exited, signaled
//	liveness failed Threshold times in a row         runtime_error           liveness
//	a failure when the start limit is reached        (either of the above)   thrashing
//	stopped on the stop signal                       stopped                 stopped
//	stopped, but only by SIGKILL after the timeout   stopped                 killed
//	the group survived SIGKILL                       stop_failed             unkillable
//
// Observation.Input gives the machine.Input; its Cause carries the exit
// code or signal, the failing check and its output, and the last lines of
// output. A forced kill still ends in stopped, the kill named in the
// cause: the service is gone, which is what the machine waits for.
// stop_failed means something of the group is still alive.
//
// After a failure the supervisor removes what is left of the group, then
// restarts by the restart policy: always; on-failure (any failure but a
// clean exit 0); never. The first restart waits Delay, each further one
// twice as long, at most MaxDelay; a service that ran ready for MaxDelay
// starts the backoff over. When Count starts fall within Interval (the
// start limit), the failure is reported with reason thrashing and there is
// no restart until Reset. An intentional Stop (or Close) always wins over
// a pending restart: it never leads to one, whatever it races with.
//
// Checks (Probe): command (exit status 0 within the timeout; the output is
// kept), HTTP GET (a 2xx status; no proxy, no keep-alive), TCP connect,
// and report, where the service reports itself through ReportReady and
// ReportFailed (the NATS self-state path). Readiness is probed at once and
// then every Interval until it passes or Interval×Threshold has passed.
// Liveness is probed every Interval once ready. Self-reports after the
// service is ready do not move the machine; the self-state is published
// separately.
//
// StartOrder and StopOrder order services by their After and Before lists
// (file order breaks ties) and report unknown names and cycles; StartAll
// starts supervisors in that order, each once the previous one is ready,
// and CloseAll stops them in reverse on a clean shutdown.
//
// # No orphans
//
// With a pid directory (Options.PIDDir, e.g. <data dir>/services), Start
// writes <dir>/<name>.pid, atomically, holding the pid, the process group,
// the process's start time (field 22 of /proc/<pid>/stat), the boot id,
// and the stop signal and timeout. The file is removed once the whole
// group is gone. At startup, before starting any service, the daemon calls
// StartCleanup: for each pid file left by a previous run that died
// (SIGKILL, crash, power loss) it sends the group its stop signal and
// returns; in the background it sends SIGKILL after the recorded stop
// timeout, logs the outcome and removes the file. Each Cleanup says at
// once what it found (pid, group, members, how it is stopping them) and,
// once Done, how it ended (stopped, killed, gone, unkillable), so the
// daemon serves its API meanwhile and starts a service again only once
// its old group is gone. CleanupOrphans is the same, waiting for all.
// A file whose pid now belongs to a process with another start time, or
// which comes from another boot, is removed without killing anything. A
// leader that is gone while its group lives on is still recognised: the
// kernel keeps a group's id allocated while any member lives.
//
// Pdeathsig is deliberately not set. It is tied to the thread that forked
// the child, not to the daemon, so Go's thread handling could kill a
// healthy service; it would send SIGKILL without the graceful stop; and it
// does not cover what already escaped. The pid files are the mechanism,
// and a clean shutdown closes the supervisors (CloseAll) before exiting.
// The one window left is between spawning a process and writing its pid
// file (microseconds): a daemon killed exactly there leaves that process
// unrecorded.
package process
