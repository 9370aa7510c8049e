package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// churn toggles bmc.0 in and out of maintenance n times, one event each,
// as fast as the actor takes them. The BMC must be Ready (readyBMC).
func churn(t *testing.T, env *servertest.Env, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		trigger := machine.RequestEnterMaintenance
		if i%2 == 1 {
			trigger = machine.RequestExitMaintenance
		}
		if _, err := env.System.Request(ctx, actors.ID("bmc.0"), machine.Input{Kind: machine.KindRequest, Trigger: trigger}); err != nil {
			t.Error(err)
			return
		}
	}
}

// checkContiguous fails unless seqs are from..to, each once, in order.
func checkContiguous(t *testing.T, seqs []uint64, from, to uint64) {
	t.Helper()
	if uint64(len(seqs)) != to-from+1 {
		t.Fatalf("tail delivered %d events, want %d (%d..%d)", len(seqs), to-from+1, from, to)
	}
	for i, s := range seqs {
		if s != from+uint64(i) {
			t.Fatalf("event %d has seq %d, want %d: a gap or a duplicate", i, s, from+uint64(i))
		}
	}
}

// tailUntil runs a following tail until it has delivered seq last.
func tailUntil(t *testing.T, cl *client.Client, opts client.TailOptions, last func() uint64, during func()) []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var seqs []uint64
	done := make(chan error, 1)
	opts.Follow = true
	go func() {
		done <- cl.Tail(ctx, opts, func(ev server.Event) error {
			mu.Lock()
			seqs = append(seqs, ev.Seq)
			mu.Unlock()
			if opts.LiveBuffer == 1 {
				time.Sleep(50 * time.Microsecond) // a slow reader: live messages get dropped
			}
			return nil
		})
	}()
	during()
	want := last()
	for {
		mu.Lock()
		n := len(seqs)
		reached := n > 0 && seqs[n-1] >= want
		mu.Unlock()
		if reached {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("tail ended early: %v", err)
		case <-ctx.Done():
			t.Fatalf("tail never reached seq %d (got %d events)", want, n)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return append([]uint64(nil), seqs...)
}

func TestTailHasNoGapOrDuplicateAcrossReplayAndLive(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.Observe(t, "bmc.0", machine.ObservedServicesReady)
	cl := client.New(env.Connect(t))
	churn(t, env, 400) // history before the tail starts
	head := func() uint64 { h, _ := env.Log.Head(context.Background()); return h }
	seqs := tailUntil(t, cl, client.TailOptions{From: 1}, head, func() {
		churn(t, env, 600) // events appended while the tail replays and goes live
	})
	checkContiguous(t, seqs, 1, head())
}

func TestTailClosesGapsFromDroppedLiveEvents(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.Observe(t, "bmc.0", machine.ObservedServicesReady)
	cl := client.New(env.Connect(t))
	head := func() uint64 { h, _ := env.Log.Head(context.Background()); return h }
	start := head() + 1
	seqs := tailUntil(t, cl, client.TailOptions{LiveBuffer: 1}, head, func() {
		time.Sleep(50 * time.Millisecond) // let the tail go live first
		churn(t, env, 2000)
	})
	checkContiguous(t, seqs, start, head())
}

func TestTailFilters(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	env.Observe(t, "bmc.0", machine.ObservedServicesReady)
	cl := client.New(env.Connect(t))
	churn(t, env, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []server.Event
	err := cl.Tail(ctx, client.TailOptions{From: 1, Filter: server.EventFilter{Component: "bmc.0", Type: "transition"}}, func(ev server.Event) error {
		got = append(got, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 { // services_ready, then four maintenance toggles
		t.Fatalf("filtered history has %d events, want 5: %+v", len(got), got)
	}
	for _, ev := range got {
		if ev.ID != "bmc.0" || ev.Type != "transition" {
			t.Fatalf("filter let through %+v", ev)
		}
	}
}
