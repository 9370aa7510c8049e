package server_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/events/logbench"
	"github.com/statemgr/statemgr/events/memlog"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

const echoSubject = "bench.echo"

// startEcho registers a trivial responder on the server's own connection:
// the baseline every figure is compared with, in the same run.
func startEcho(b *testing.B, nc *nats.Conn) {
	sub, err := nc.Subscribe(echoSubject, func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// BenchmarkHostGetVsEcho measures statemgr.host.get and the echo responder
// alternately over one client connection, and reports both latencies'
// p50/p99 and their ratios (targets: p50 <= 1.3x, p99 <= 1.5x).
func BenchmarkHostGetVsEcho(b *testing.B) {
	env := servertest.Start(b, servertest.Options{})
	startEcho(b, env.Conn)
	nc := env.Connect(b)
	body := []byte(`{"id":"host.0"}`)
	get := make([]time.Duration, 0, b.N)
	echo := make([]time.Duration, 0, b.N)
	for range 200 { // warm up both paths
		if _, err := nc.Request(server.SubjectHostGet, body, time.Second); err != nil {
			b.Fatal(err)
		}
		if _, err := nc.Request(echoSubject, body, time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		msg, err := nc.Request(server.SubjectHostGet, body, time.Second)
		if err != nil || client.DecodeError(msg) != nil {
			b.Fatal(err, client.DecodeError(msg))
		}
		get = append(get, time.Since(start))
		start = time.Now()
		if _, err := nc.Request(echoSubject, body, time.Second); err != nil {
			b.Fatal(err)
		}
		echo = append(echo, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(get)
	slices.Sort(echo)
	gp50, gp99, ep50, ep99 := percentile(get, .5), percentile(get, .99), percentile(echo, .5), percentile(echo, .99)
	b.ReportMetric(float64(gp50.Microseconds()), "get-p50-µs")
	b.ReportMetric(float64(gp99.Microseconds()), "get-p99-µs")
	b.ReportMetric(float64(ep50.Microseconds()), "echo-p50-µs")
	b.ReportMetric(float64(ep99.Microseconds()), "echo-p99-µs")
	b.ReportMetric(float64(gp50)/float64(ep50), "p50-ratio")
	b.ReportMetric(float64(gp99)/float64(ep99), "p99-ratio")
}

func openBadger(b *testing.B) *badger.Log {
	log, err := badger.Open(badger.Options{Dir: b.TempDir(), GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = log.Close() })
	return log
}

// cpuTime returns the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// run64 runs fn from 64 goroutines for d and returns completed calls per
// second and the process's CPU time per call (server, NATS and clients
// together: they share the machine).
func run64(b *testing.B, d time.Duration, fn func(client int) error) (rate float64, cpuPerCall time.Duration) {
	cpu0 := cpuTime(b)
	var done atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for c := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := fn(c); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	n := max(done.Load(), 1)
	return float64(n) / time.Since(start).Seconds(), (cpuTime(b) - cpu0) / time.Duration(n)
}

// BenchmarkControlVsEcho64 measures durable control requests per second
// from 64 concurrent clients against the echo responder's rate at 64
// clients in the same run (target >= 0.3x). Each client owns a service and
// alternates start and stop, waiting for each outcome: a request is two
// durable records on the Badger log (the request's transition, then the
// process's observation) and its reply. Services are the components that
// take requests straight from the API; host and chassis requests run as
// coordinator sagas whose duration is the hardware's
// (BenchmarkHostPowerOnSaga in actors/coordinator measures those).
//
// store=memory runs the same on events/memlog: no disk, so what remains is
// statemgr's own CPU per request (compare BenchmarkDurableFloorVsEcho64).
func BenchmarkControlVsEcho64(b *testing.B) {
	b.Run("store=badger", func(b *testing.B) { controlVsEcho64(b, openBadger(b)) })
	b.Run("store=memory", func(b *testing.B) { controlVsEcho64(b, memlog.New()) })
}

func controlVsEcho64(b *testing.B, log events.Log) {
	procs := &instantProcesses{}
	env := servertest.Start(b, servertest.Options{Platform: manyServicesPlatform(b, 64), Log: log, Services: procs})
	procs.sys.Store(env.System)
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = []byte(fmt.Sprintf(`{"id":"service.s%d","wait":"5s"}`, i))
	}
	subjects := [2]string{server.SubjectServiceStart, server.SubjectServiceStop}
	turn := make([]int, 64) // each client's next subject; client c only touches turn[c]
	vsEcho64(b, env, "control", func(c int) []byte { return bodies[c] }, func(nc *nats.Conn, c int) error {
		msg, err := nc.Request(subjects[turn[c]], bodies[c], 5*time.Second)
		if err != nil {
			return err
		}
		turn[c] ^= 1
		return client.DecodeError(msg)
	})
}

// vsEcho64 runs request from 64 clients over 8 connections to env, then the
// echo responder (client c sending body(c)) the same way for as long, and
// reports both rates and CPU per request, and their ratio.
func vsEcho64(b *testing.B, env *servertest.Env, name string, body func(c int) []byte, request func(nc *nats.Conn, c int) error) {
	startEcho(b, env.Conn)
	conns := make([]*nats.Conn, 8)
	for i := range conns {
		conns[i] = env.Connect(b)
	}
	d := time.Duration(b.N) * 10 * time.Millisecond
	d = min(max(d, 500*time.Millisecond), 3*time.Second)
	b.ResetTimer()
	rate, cpu := run64(b, d, func(c int) error { return request(conns[c%len(conns)], c) })
	echo, echoCPU := run64(b, d, func(c int) error {
		_, err := conns[c%len(conns)].Request(echoSubject, body(c), 5*time.Second)
		return err
	})
	b.StopTimer()
	b.ReportMetric(rate, name+"-req/s")
	b.ReportMetric(echo, "echo-req/s")
	b.ReportMetric(rate/echo, "ratio")
	b.ReportMetric(float64(cpu.Microseconds()), name+"-cpu-µs/req")
	b.ReportMetric(float64(echoCPU.Microseconds()), "echo-cpu-µs/req")
}

// BenchmarkDurableFloorVsEcho64 measures the least a durable request can
// cost on this machine, beside the echo responder in the same run, at the
// 64 clients of BenchmarkControlVsEcho64: a responder that does nothing
// but append records to a store and acknowledge. Each record is one
// durable append, on store's group commit, and the two event messages the
// publisher sends for a record (statemgr.events.transitions and the
// component's subject); the reply follows the last record. No machine, no
// actor, no index beyond the store's own.
//
// Stores (logbench systems): raw is the disk's own group-commit ceiling
// (one write and one fdatasync per waiting group, nothing to read back);
// statemgr is events/badger's Log, the daemon's log; memory is
// events/memlog, no disk at all. records=2 is what
// BenchmarkControlVsEcho64's waited start or stop commits: the request's
// transition, then the process's observation. statemgr cannot be faster
// than its store's floor.
func BenchmarkDurableFloorVsEcho64(b *testing.B) {
	for _, store := range []logbench.System{logbench.Raw, logbench.Statemgr, logbench.Memory} {
		for _, records := range []int{1, 2} {
			b.Run(fmt.Sprintf("store=%s/records=%d", store, records), func(b *testing.B) {
				durableFloor(b, openLogbench(b, store), records)
			})
		}
	}
}

func openLogbench(b *testing.B, sys logbench.System) logbench.Appender {
	a, err := logbench.OpenAppender(sys, b.TempDir(), logbench.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	return a
}

func durableFloor(b *testing.B, store logbench.Appender, records int) {
	env := servertest.Start(b, servertest.Options{})
	pub := env.Connect(b)
	var seqs [64]atomic.Uint64 // records appended per client
	event := []byte(`{"seq":1,"id":"service.s00","stream_seq":1,"type":"transition","from":"Stopped","to":"Starting","time":"2026-12-04T18:00:00Z","cause":"request","requester":"operator:bench","operation":"op-0123456789abcdef"}`)
	const durableSubject = "bench.durable"
	sub, err := env.Conn.Subscribe(durableSubject, func(m *nats.Msg) {
		worker, err := strconv.Atoi(string(m.Data))
		if err != nil || worker < 0 || worker >= len(seqs) {
			b.Errorf("bad request body %q", m.Data)
			return
		}
		// As the server hands requests to actors: the subscription's
		// goroutine takes the next request while this one commits.
		go func() {
			for range records {
				if err := store.Append(context.Background(), worker, seqs[worker].Add(1)); err != nil {
					b.Error(err)
					return
				}
				_ = pub.Publish(server.SubjectEventsTransitions, event)
				_ = pub.Publish("statemgr.events.service.s"+string(m.Data), event)
			}
			_ = m.Respond(event[:64])
		}()
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Unsubscribe() })
	body := func(c int) []byte { return []byte(strconv.Itoa(c)) }
	vsEcho64(b, env, "durable", body, func(nc *nats.Conn, c int) error {
		_, err := nc.Request(durableSubject, body(c), 5*time.Second)
		return err
	})
}

// manyServicesPlatform is the default platform plus n services.
func manyServicesPlatform(b *testing.B, n int) *platform.Platform {
	src := string(platform.DefaultSource())
	for i := range n {
		src += fmt.Sprintf("service \"s%d\" {\n  command = \"/bin/true\"\n}\n", i)
	}
	p, err := platform.Parse("bench.hcl", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// instantProcesses performs service effects as processes that start and
// stop at once would: start_process is followed by initialized,
// stop_process by stopped, each reported off the component's actor.
type instantProcesses struct {
	sys atomic.Pointer[protoactor.System]
}

func (p *instantProcesses) Perform(id actors.ID, effects []machine.Effect) {
	for _, e := range effects {
		trigger := map[string]string{"start_process": machine.ObservedInitialized, "stop_process": machine.ObservedStopped}[e.Name]
		if sys := p.sys.Load(); sys != nil && trigger != "" {
			go func() {
				_, _ = sys.Request(context.Background(), id, machine.Input{Kind: machine.KindObservation, Trigger: trigger})
			}()
		}
	}
}

// BenchmarkCommitToTail appends events to the Badger log at 10k events/s
// and measures, at a following client.Tail, the time from each append's
// return (its commit) to the event's arrival (target p99 <= 2 ms). An event
// that arrives before its appender has noted the commit counts as 0.
func BenchmarkCommitToTail(b *testing.B) {
	log := openBadger(b)
	env := servertest.Start(b, servertest.Options{Log: log})
	cl := client.New(env.Connect(b))
	const rate = 10000
	// Eight appenders sustain the rate with each append's group commit
	// (an fsync) in flight; more only add scheduling noise on small hosts.
	const appenders = 8
	total := max(b.N, 20000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	head, _ := log.Head(ctx)
	// By global seq: the devices' polls append records of their own in
	// between, which the tail skips.
	var mu sync.Mutex
	committedAt := make(map[uint64]time.Time, total)
	arrivedAt := make(map[uint64]time.Time, total)
	received := make(chan struct{})
	tailErr := make(chan error, 1)
	go func() {
		tailErr <- cl.Tail(ctx, client.TailOptions{From: head + 1, Follow: true}, func(ev server.Event) error {
			if !strings.HasPrefix(ev.ID, "bench.") {
				return nil
			}
			mu.Lock()
			arrivedAt[ev.Seq] = time.Now()
			n := len(arrivedAt)
			mu.Unlock()
			if n == total {
				close(received)
			}
			return nil
		})
	}()
	time.Sleep(50 * time.Millisecond) // let the tail go live
	b.ResetTimer()
	began := time.Now()
	var wg sync.WaitGroup
	interval := time.Second * appenders / rate
	for a := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("bench.%d", a)
			next := time.Now()
			for i := a; i < total; i += appenders {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
				stored, _, err := log.Append(ctx, stream, events.AnyVersion(), []events.Event{{Type: "bench", Schema: 1, Time: time.Now()}})
				if err != nil {
					b.Error(err)
					return
				}
				at := time.Now()
				mu.Lock()
				committedAt[stored[0].GlobalSeq] = at
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	achieved := float64(total) / time.Since(began).Seconds()
	select {
	case <-received:
	case err := <-tailErr:
		b.Fatalf("tail ended early: %v", err)
	case <-time.After(30 * time.Second):
		b.Fatalf("tail did not receive all %d events", total)
	}
	b.StopTimer()
	cancel()
	<-tailErr
	latencies := make([]time.Duration, 0, total)
	for seq, at := range committedAt {
		latencies = append(latencies, max(arrivedAt[seq].Sub(at), 0))
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(percentile(latencies, .5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(latencies, .99).Microseconds()), "p99-µs")
	b.ReportMetric(achieved, "appended/s")
}
