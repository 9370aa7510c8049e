package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testHTTPLimits are defaultHTTPLimits with times short enough for a test;
// the tests assert what happens to a connection, never when.
func testHTTPLimits() httpLimits {
	lim := defaultHTTPLimits
	lim.readHeader, lim.read, lim.write, lim.idle = 300*time.Millisecond, 500*time.Millisecond, 2*time.Second, time.Second
	return lim
}

// serveHTTP serves the daemon's real handler (no components: /healthz is
// 503, /metrics 200) on a loopback listener within lim, counting the
// requests that reach it.
func serveHTTP(t *testing.T, lim httpLimits) (addr string, ln *connLimiter, served *atomic.Int64) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served = &atomic.Int64{}
	h := (&health{}).handler(newMetrics())
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1); h.ServeHTTP(w, r) })
	ln = limitConns(raw, lim.maxConns)
	srv := newHTTPServer(counted, lim)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return raw.Addr().String(), ln, served
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedByServer reads c until the server closes it (EOF or reset) and
// returns what it read, failing if the server kept it open for the test's
// whole patience: a minute, far past every limit.
func closedByServer(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open; read so far %q", head(string(got)))
	}
	return string(got)
}

// TestHTTPSlowLorisIsDisconnected: a client trickling its header, or its
// body after a complete header, one byte at a time, is disconnected before
// it is done, and no trickled request reaches a handler. Before the
// listener's limits, a trickled body held its connection for as long as
// the client liked: net/http reads an unread body to reuse the connection,
// and only the header had a timeout.
func TestHTTPSlowLorisIsDisconnected(t *testing.T) {
	addr, _, served := serveHTTP(t, testHTTPLimits())
	for name, start := range map[string]string{
		"header": "GET /metrics HTTP/1.1\r\nHost: bmc\r\nX-Trickle: ",
		"body":   "POST /metrics HTTP/1.1\r\nHost: bmc\r\nContent-Length: 1000000\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr)
			if _, err := io.WriteString(c, start); err != nil {
				t.Fatal(err)
			}
			// The trickle would take 1000 s to finish.
			trickled := make(chan int, 1)
			go func() {
				n := 0
				for ; n < 100000; n++ {
					if _, err := c.Write([]byte("a")); err != nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				trickled <- n
			}()
			got := closedByServer(t, c)
			_ = c.Close()
			if n := <-trickled; n == 100000 {
				t.Fatalf("the whole trickle was taken")
			}
			if name == "body" && !strings.HasPrefix(got, "HTTP/1.1 405") {
				t.Errorf("a trickled POST got %q, want 405 then the connection closed", head(got))
			}
		})
	}
	if n := served.Load(); n != 0 {
		t.Fatalf("%d trickled requests reached the handler", n)
	}
}

// TestHTTPOversizedHeaderGets431: a header past maxHeaderBytes is answered
// 431 without reaching the handler; before, net/http took up to 1 MiB.
func TestHTTPOversizedHeaderGets431(t *testing.T) {
	addr, _, served := serveHTTP(t, testHTTPLimits())
	c := dial(t, addr)
	big := strings.Repeat("x", 64<<10)
	if _, err := fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: bmc\r\nX-Big: %s\r\n\r\n", big); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || served.Load() != 0 {
		t.Fatalf("status %d, %d requests served; want 431 and none", resp.StatusCode, served.Load())
	}
}

// TestHTTPRefusesBodiesAndOtherMethods: only bodiless GET and HEAD are
// served; a request with a body is refused without reading it, and its
// connection closed.
func TestHTTPRefusesBodiesAndOtherMethods(t *testing.T) {
	addr, _, _ := serveHTTP(t, testHTTPLimits())
	for _, tc := range []struct {
		request string
		want    int
	}{
		{"GET /metrics HTTP/1.1\r\nHost: bmc\r\n\r\n", http.StatusOK},
		{"HEAD /metrics HTTP/1.1\r\nHost: bmc\r\n\r\n", http.StatusOK},
		{"POST /metrics HTTP/1.1\r\nHost: bmc\r\nContent-Length: 3\r\n\r\nabc", http.StatusMethodNotAllowed},
		{"DELETE /readyz HTTP/1.1\r\nHost: bmc\r\n\r\n", http.StatusMethodNotAllowed},
		{"GET /metrics HTTP/1.1\r\nHost: bmc\r\nContent-Length: 100000000\r\n\r\nabc", http.StatusRequestEntityTooLarge},
		{"GET /metrics HTTP/1.1\r\nHost: bmc\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", http.StatusRequestEntityTooLarge},
	} {
		c := dial(t, addr)
		if _, err := io.WriteString(c, tc.request); err != nil {
			t.Fatal(err)
		}
		method, _, _ := strings.Cut(tc.request, " ")
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%q: %v", tc.request, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%q: status %d, want %d", tc.request, resp.StatusCode, tc.want)
		}
		if tc.want != http.StatusOK {
			if !resp.Close {
				t.Errorf("%q: connection kept open after a refusal", tc.request)
			}
			closedByServer(t, c)
		}
	}
}

// TestHTTPConnectionsPastTheCapAreClosed: with maxConns idle connections
// open, each further one is answered 503 and closed at once, and holding
// a hundred of them grows nothing: no goroutine, no slot. Once the idle
// ones are gone the listener serves again. Before the cap, every
// connection got a goroutine and buffers and stayed open.
func TestHTTPConnectionsPastTheCapAreClosed(t *testing.T) {
	lim := testHTTPLimits()
	lim.readHeader, lim.read = time.Minute, time.Minute // the idle ones stay for the test
	addr, ln, served := serveHTTP(t, lim)
	var idle []net.Conn
	for range lim.maxConns {
		idle = append(idle, dial(t, addr))
	}
	waitFor(t, "the idle connections to be accepted", func() bool { return ln.open() == lim.maxConns })
	runtime.GC()
	before := runtime.NumGoroutine()
	var extra []net.Conn
	for i := range 100 {
		c := dial(t, addr)
		extra = append(extra, c)
		if i%10 == 0 { // some send a request, the others stay idle
			_, _ = io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: bmc\r\n\r\n")
		}
	}
	for i, c := range extra {
		if got := closedByServer(t, c); got != "" && !strings.HasPrefix(got, "HTTP/1.1 503") {
			t.Fatalf("connection %d past the cap got %q, want 503 or nothing, then closed", i, head(got))
		}
	}
	if after := runtime.NumGoroutine(); after > before+2 || ln.open() != lim.maxConns || served.Load() != 0 {
		t.Fatalf("past the cap: goroutines %d → %d, %d connections served, %d requests; want no growth, %d and 0",
			before, after, ln.open(), served.Load(), lim.maxConns)
	}
	for _, c := range idle {
		_ = c.Close()
	}
	waitFor(t, "the closed connections to give their slots back", func() bool { return ln.open() == 0 })
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the flood: status %d", resp.StatusCode)
	}
}

// waitFor polls cond until it holds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// head shortens a reply for a failure message.
func head(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
