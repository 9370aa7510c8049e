package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer collects the daemon's log from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(t *testing.T, url string) *http.Response {
	t.Helper()
	for i := 0; i < 200; i++ {
		resp, err := http.Get(url)
		if err == nil {
			return resp
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
	return nil
}

func TestRunServesAndStopsOnSIGTERM(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	args := []string{"-data-dir", dir, "-http-listen", addr, "-nats-listen", freeAddr(t)}
	for round := 1; round <= 2; round++ {
		var stderr syncBuffer
		code := make(chan int, 1)
		go func() { code <- run(args, &bytes.Buffer{}, &stderr) }()
		waitReady(t, "http://"+addr+"/readyz")
		resp := waitHTTP(t, "http://"+addr+"/metrics")
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if !strings.Contains(body.String(), `statemgr_component_state{component="host.0",state="Off"} 1`) {
			t.Fatalf("round %d: metrics lack host.0's state:\n%.2000s", round, body.String())
		}
		waitMetric(t, "http://"+addr+"/metrics", `statemgr_component_state{component="service.demo",state="Running"} 1`)
		for _, series := range []string{`statemgr_component_request_seconds_count{kind="observation"}`, `statemgr_event_append_seconds_count`,
			`statemgr_transitions_total{component="service.demo",to="Running"}`, `statemgr_event_log_head`, `statemgr_component_state_since_seconds{component="host.0"}`} {
			waitMetric(t, "http://"+addr+"/metrics", series)
		}
		stopWithSIGTERM(t, code, &stderr)
		// The daemon stopped its service: no pid file, no process.
		if left, _ := filepath.Glob(filepath.Join(dir, "services", "*.pid")); len(left) > 0 {
			t.Fatalf("round %d: pid files left after shutdown: %v", round, left)
		}
		// The second start recovers what the first created.
		want := "version=1"
		if !strings.Contains(stderr.String(), "recovered: component=host.0 state=Off "+want) {
			t.Fatalf("round %d: log lacks the recovery line:\n%s", round, stderr.String())
		}
	}
}

// stopWithSIGTERM sends the test process (a daemon run in-process) SIGTERM
// and waits for run to return 0.
func stopWithSIGTERM(t *testing.T, code <-chan int, stderr *syncBuffer) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d\n%s", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after SIGTERM\n%s", stderr.String())
	}
}

// waitReady polls /readyz (or /healthz) until it answers 200: it answers
// 503 while the daemon recovers, reconciles and starts its API.
func waitReady(t *testing.T, url string) {
	t.Helper()
	for i := 0; i < 400; i++ {
		resp := waitHTTP(t, url)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

// waitMetric polls the metrics until a line appears.
func waitMetric(t *testing.T, url, line string) {
	t.Helper()
	var last string
	for i := 0; i < 200; i++ {
		if resp, err := http.Get(url); err == nil {
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if last = body.String(); strings.Contains(last, line) {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("metrics never showed %s:\n%s", line, grepLines(last, "statemgr_component_state"))
}

func TestRunRefusesABadPlatform(t *testing.T) {
	var stderr syncBuffer
	code := run([]string{"-data-dir", t.TempDir(), "-platform", "/nonexistent/board.hcl", "-http-listen", ""}, &bytes.Buffer{}, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "cannot read platform file") {
		t.Fatalf("exit %d, log:\n%s", code, stderr.String())
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"-version"}, &out, &bytes.Buffer{}); code != 0 || out.String() != fmt.Sprintf("statemgrd %s\n", version) {
		t.Fatalf("exit %d, %q", code, out.String())
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
