package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters/platform"
)

// maxCheckOutput bounds the output a check keeps for the transition cause.
const maxCheckOutput = 1024

// checkWaitDelay bounds how long a timed-out command check waits for its
// output pipes after its group was killed (an exec.Cmd safety net against
// a grandchild that left the group and holds the pipes).
const checkWaitDelay = time.Second

// errCheckTimeout is the cause of a check's context when its timeout passes.
var errCheckTimeout = errors.New("check timed out")

// CheckResult is the outcome of one probe.
type CheckResult struct {
	Kind   platform.CheckKind
	Target string // the command line, URL or address probed
	OK     bool
	Output string // bounded: the command's output, the HTTP status and body, or the error
}

// String describes the result for a transition cause:
// "http http://127.0.0.1:8080/healthz: HTTP 503: not ready".
func (r CheckResult) String() string {
	return fmt.Sprintf("%s %s: %s", r.Kind, r.Target, r.Output)
}

// Probe runs check once, bounded by its Timeout on clk. A report check
// cannot be probed: the service reports itself (Supervisor.ReportReady).
func Probe(ctx context.Context, check platform.Check, clk clock.Clock) CheckResult {
	res := CheckResult{Kind: check.Kind}
	timeout := check.Timeout
	if timeout <= 0 {
		timeout = platform.DefaultCheckTimeout
	}
	ctx, cancel := withClockTimeout(ctx, clk, timeout)
	defer cancel()
	switch check.Kind {
	case platform.CheckCommand:
		res.Target = strings.Join(check.Command, " ")
		res.OK, res.Output = probeCommand(ctx, check.Command)
	case platform.CheckHTTP:
		res.Target = check.URL
		res.OK, res.Output = probeHTTP(ctx, check.URL)
	case platform.CheckTCP:
		res.Target = check.Address
		res.OK, res.Output = probeTCP(ctx, check.Address)
	default:
		res.Output = fmt.Sprintf("a %q check cannot be probed", check.Kind)
		return res
	}
	if !res.OK && errors.Is(context.Cause(ctx), errCheckTimeout) {
		res.Output = strings.TrimSpace(fmt.Sprintf("timed out after %s; %s", timeout, res.Output))
	}
	return res
}

// withClockTimeout returns a context cancelled with errCheckTimeout when d
// has passed on clk.
func withClockTimeout(parent context.Context, clk clock.Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	t := clk.NewTimer(d)
	go func() {
		select {
		case <-t.C():
			cancel(errCheckTimeout)
		case <-ctx.Done():
			t.Stop()
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

func probeCommand(ctx context.Context, argv []string) (bool, string) {
	if len(argv) == 0 {
		return false, "no command"
	}
	var out boundedBuffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = checkWaitDelay
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	if err != nil {
		if text == "" {
			return false, err.Error()
		}
		return false, err.Error() + ": " + text
	}
	return true, text
}

func probeHTTP(ctx context.Context, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxCheckOutput)) // a short body is still a verdict
	text := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if b := strings.TrimSpace(strings.ToValidUTF8(string(body), "\uFFFD")); b != "" {
		text += ": " + b
	}
	return resp.StatusCode >= 200 && resp.StatusCode < 300, text
}

func probeTCP(ctx context.Context, address string) (bool, string) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return false, err.Error()
	}
	_ = conn.Close() // the connection only proved the port open
	return true, "connected"
}

// boundedBuffer keeps the first maxCheckOutput bytes written to it.
type boundedBuffer struct{ b bytes.Buffer }

func (w *boundedBuffer) Write(p []byte) (int, error) {
	if room := maxCheckOutput - w.b.Len(); room > 0 {
		w.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (w *boundedBuffer) String() string { return strings.ToValidUTF8(w.b.String(), "\uFFFD") }
