package process

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// The process tests run real processes on the real clock (clock.Real):
// what they test is how the kernel, signals and process groups behave,
// which a virtual clock cannot drive. Their timeouts are short (a few
// hundred milliseconds) and every wait is bounded.

// demoBin is the statemgr-demo-service binary TestMain builds.
var demoBin string

// helperEnv makes the test binary act as a daemon that starts a service
// and then waits to be killed (TestCleanupOrphansAfterParentSIGKILL).
const (
	helperEnv       = "STATEMGR_PROCESS_TEST_HELPER"
	helperPIDDirEnv = "STATEMGR_PROCESS_TEST_PIDDIR"
	helperDemoEnv   = "STATEMGR_PROCESS_TEST_DEMO"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "orphan-parent" {
		os.Exit(orphanParent())
	}
	dir, err := os.MkdirTemp("", "statemgr-process-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	demoBin = filepath.Join(dir, "statemgr-demo-service")
	build := exec.Command("go", "build", "-o", demoBin, "github.com/statemgr/statemgr/cmd/statemgr-demo-service")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot build the demo service: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// orphanParent starts the demo service with a pid file, waits until it is
// ready, prints its pid and waits to be SIGKILLed.
func orphanParent() int {
	p, err := Start(context.Background(), Spec{Name: "orphaned", Command: os.Getenv(helperDemoEnv)},
		Options{PIDDir: os.Getenv(helperPIDDirEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if slices.Contains(p.Output(10), "stdout: ready") {
			fmt.Printf("pid %d\n", p.PID())
			time.Sleep(time.Minute)
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "demo service never became ready")
	return 1
}

// testLogger sends logs to t.Log, or to buf when given, and drops what
// comes after the test.
func testLogger(t *testing.T, buf *syncBuffer) hclog.Logger {
	w := &testWriter{t: t, buf: buf}
	t.Cleanup(w.close)
	return hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Debug, Output: w})
}

type testWriter struct {
	mu     sync.Mutex
	t      *testing.T
	buf    *syncBuffer
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
		if w.buf != nil {
			w.buf.Write(p)
		}
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// recorder collects a supervisor's observations.
type recorder struct {
	mu   sync.Mutex
	obs  []Observation
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) observe(o Observation) {
	r.mu.Lock()
	r.obs = append(r.obs, o)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

func (r *recorder) all() []Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.obs)
}

func (r *recorder) triggers() []string {
	var out []string
	for _, o := range r.all() {
		out = append(out, o.Trigger)
	}
	return out
}

// waitN waits until at least n observations arrived and returns them.
func (r *recorder) waitN(t *testing.T, n int, within time.Duration) []Observation {
	t.Helper()
	deadline := time.After(within)
	for {
		if obs := r.all(); len(obs) >= n {
			return obs
		}
		select {
		case <-r.more:
		case <-deadline:
			if obs := r.all(); len(obs) >= n {
				return obs
			}
			t.Fatalf("got %d observations %v within %s, want %d", len(r.all()), r.triggers(), within, n)
		}
	}
}

// quiet asserts that no observation beyond the first n arrives for d.
func (r *recorder) quiet(t *testing.T, n int, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	if obs := r.all(); len(obs) != n {
		t.Fatalf("observations %v: want exactly %d", r.triggers(), n)
	}
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// gone reports whether pid no longer runs (absent, or a zombie nobody
// reaped yet).
func gone(pid int) bool {
	st, err := readStat(pid)
	return err != nil || !st.alive()
}

func newSupervisor(t *testing.T, cfg SupervisorConfig) (*Supervisor, *recorder) {
	t.Helper()
	rec := newRecorder()
	cfg.Observe = rec.observe
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t, nil)
	}
	if cfg.KillWait == 0 {
		cfg.KillWait = 2 * time.Second
	}
	s, err := NewSupervisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, rec
}

// readPID scans the helper's stdout for its "pid N" line.
func readPID(t *testing.T, sc *bufio.Scanner) int {
	t.Helper()
	for sc.Scan() {
		var pid int
		if _, err := fmt.Sscanf(sc.Text(), "pid %d", &pid); err == nil {
			return pid
		}
	}
	t.Fatalf("helper printed no pid: %v", sc.Err())
	return 0
}
