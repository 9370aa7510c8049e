package jetstream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/statemgr/statemgr/snapshots/checkpoint"
	"github.com/statemgr/statemgr/snapshots/checkpoint/checkpointtest"
	"github.com/statemgr/statemgr/snapshots/checkpoint/jetstream"
)

// startJetStream runs a real nats-server with JetStream on loopback,
// storing in dir, on port (-1: a free one).
func startJetStream(t *testing.T, dir string, port int) *natsserver.Server {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true, SyncAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

func connect(t *testing.T, url string) js.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	j, err := js.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestContract(t *testing.T) {
	ns := startJetStream(t, t.TempDir(), -1)
	j := connect(t, ns.ClientURL())
	n := 0
	checkpointtest.Run(t, func(t *testing.T) checkpoint.Store {
		n++
		s, err := jetstream.New(context.Background(), j, "contract"+strings.Repeat("x", n))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

var at = time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)

// gatedReader gives the first n bytes, then waits for open to be closed
// before giving the rest; reached is closed when it starts waiting.
type gatedReader struct {
	r       io.Reader
	n       int
	reached chan struct{}
	open    chan struct{}
	once    sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		g.once.Do(func() { close(g.reached) })
		<-g.open
		return g.r.Read(p)
	}
	if len(p) > g.n {
		p = p[:g.n]
	}
	n, err := g.r.Read(p)
	g.n -= n
	return n, err
}

// TestServerGoneMidUploadListsNothing stops the NATS server in the middle
// of a Put: the Put fails with ErrUnavailable saying what to do, nothing
// is listed — not then, and not after the server is back and the client
// has sent what it buffered meanwhile — and the next Put of the same
// checkpoint stores it whole.
func TestServerGoneMidUploadListsNothing(t *testing.T) {
	dir := t.TempDir()
	ns := startJetStream(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	j := connect(t, ns.ClientURL())
	ctx := context.Background()
	s, err := jetstream.New(ctx, j, "cut")
	if err != nil {
		t.Fatal(err)
	}
	m, c := checkpointtest.Content(t, at, 9, 20000) // ~2 MB: many chunks
	g := &gatedReader{r: bytes.NewReader(c), n: len(c) / 2, reached: make(chan struct{}), open: make(chan struct{})}
	putErr := make(chan error, 1)
	go func() { putErr <- s.Put(ctx, m, g) }()
	select {
	case <-g.reached:
	case <-time.After(30 * time.Second):
		t.Fatal("the upload never reached its middle")
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	close(g.open)
	err = <-putErr
	if !errors.Is(err, checkpoint.ErrUnavailable) || !strings.Contains(err.Error(), "again") {
		t.Fatalf("cut put: %v, want ErrUnavailable saying to try again", err)
	}

	// The server comes back with its store; the client reconnects and
	// sends what it buffered while disconnected.
	startJetStream(t, dir, port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := s.List(ctx)
		if err == nil {
			if len(list) != 0 {
				t.Fatalf("after the cut listed %+v, want nothing", list)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list after the server came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let late buffered publishes land
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after the buffered publishes listed %+v (%v), want nothing", list, err)
	}
	if _, err := s.Stat(ctx, m.ID); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("stat after the cut: %v, want ErrNotFound", err)
	}
	if err := s.Put(ctx, m, bytes.NewReader(c)); err != nil {
		t.Fatalf("put after the cut: %v", err)
	}
	got, rc, err := s.Open(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := checkpoint.Read(rc, got, checkpoint.Visitor{}); err != nil {
		t.Fatalf("read back after the cut: %v", err)
	}
}

// TestUnreachableServerIsTyped: with the server gone for good, every call
// fails with ErrUnavailable rather than hanging.
func TestUnreachableServerIsTyped(t *testing.T) {
	ns := startJetStream(t, t.TempDir(), -1)
	j := connect(t, ns.ClientURL())
	s, err := jetstream.New(context.Background(), j, "gone")
	if err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, c := checkpointtest.Content(t, at, 1, 3)
	if err := s.Put(ctx, m, bytes.NewReader(c)); !errors.Is(err, checkpoint.ErrUnavailable) {
		t.Fatalf("put: %v, want ErrUnavailable", err)
	}
	if _, err := s.List(ctx); !errors.Is(err, checkpoint.ErrUnavailable) {
		t.Fatalf("list: %v, want ErrUnavailable", err)
	}
}
