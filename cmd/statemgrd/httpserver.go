package main

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// httpLimits bound what the clients of the metrics and health listener can
// hold: on a BMC every connection and every byte of a request is memory
// the other services need. A scrape or a probe needs one small GET.
type httpLimits struct {
	readHeader time.Duration // a request's header must arrive within it, however it trickles in
	read       time.Duration // the whole request
	write      time.Duration // the reply: a scrape, or a health check of up to 2 s
	idle       time.Duration // a kept-alive connection between requests
	// maxHeaderBytes bounds a request's header (net/http adds 4 KiB of
	// slack); past it the reply is 431.
	maxHeaderBytes int
	// maxConns bounds the connections served at once; one more is answered
	// 503 and closed at once, holding nothing.
	maxConns int
}

// defaultHTTPLimits are statemgrd's: far above what Prometheus, systemd's
// probes or an operator's curl need, and at most a few hundred KiB of
// buffers and goroutines in all.
var defaultHTTPLimits = httpLimits{
	readHeader:     5 * time.Second,
	read:           10 * time.Second,
	write:          15 * time.Second,
	idle:           30 * time.Second,
	maxHeaderBytes: 8 << 10,
	maxConns:       16,
}

// newHTTPServer serves h within lim: bodiless GET and HEAD requests only,
// the header, request, reply and idle times bounded.
func newHTTPServer(h http.Handler, lim httpLimits) *http.Server {
	return &http.Server{
		Handler:           bodilessGets(h),
		ReadHeaderTimeout: lim.readHeader,
		ReadTimeout:       lim.read,
		WriteTimeout:      lim.write,
		IdleTimeout:       lim.idle,
		MaxHeaderBytes:    lim.maxHeaderBytes,
	}
}

// bodilessGets refuses every request but a GET or HEAD without a body:
// /metrics, /healthz and /readyz take none, so no request body is ever
// read or buffered, and the connection of a refused one is closed.
func bodilessGets(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			w.Header().Set("Connection", "close")
			http.Error(w, "only GET and HEAD are served here", http.StatusMethodNotAllowed)
		case r.ContentLength != 0: // -1: a chunked body of unknown length
			w.Header().Set("Connection", "close")
			http.Error(w, "these endpoints take no request body", http.StatusRequestEntityTooLarge)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// connLimiter is a listener that serves at most cap(slots) connections at
// once. A connection past that is answered 503 and closed in Accept: no
// goroutine, buffer or slot is kept for it, so a flood of idle connections
// costs nothing beyond the ones being served.
type connLimiter struct {
	net.Listener
	slots chan struct{}
}

// limitConns returns ln serving at most max connections at once.
func limitConns(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, slots: make(chan struct{}, max)}
}

// busyReply is what a connection past the cap gets before it is closed.
var busyReply = []byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: " +
	strconv.Itoa(len(busyBody)) + "\r\n\r\n" + busyBody)

const busyBody = "too many connections; try again later\n"

// refuseWriteTimeout bounds the write of busyReply: it fits a fresh
// socket's send buffer, so the deadline only guards a broken one.
const refuseWriteTimeout = 100 * time.Millisecond

// Accept returns the next connection within the cap, refusing those past it.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
			_, _ = c.Write(busyReply)
			_ = c.Close()
		}
	}
}

// open returns the number of connections being served.
func (l *connLimiter) open() int { return len(l.slots) }

// limitedConn gives its slot back when closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
