package protoactor_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/events"
	eventsbadger "github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/snapshots"
	snapbadger "github.com/statemgr/statemgr/snapshots/badger"
)

// serviceCycle is a loop of inputs a service machine accepts forever, one
// durable transition each.
var serviceCycle = []machine.Input{
	{Kind: machine.KindRequest, Trigger: machine.RequestStart},
	{Kind: machine.KindObservation, Trigger: machine.ObservedInitialized},
	{Kind: machine.KindRequest, Trigger: machine.RequestStop},
	{Kind: machine.KindObservation, Trigger: machine.ObservedStopped},
}

// BenchmarkRoundTripVsAppend measures a request through a component actor,
// durable append included, with N components driven concurrently, and in
// the same run the Badger log's own append rate with N appenders of the
// same records. ratio = round trips/s ÷ appends/s; the actor's share of the
// cost is 1 - ratio.
func BenchmarkRoundTripVsAppend(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("components=%d", n), func(b *testing.B) {
			log, err := eventsbadger.Open(eventsbadger.Options{Dir: b.TempDir(), Profile: eventsbadger.ProfileBMC, GCInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer log.Close()
			comps := map[actors.ID]*machine.Compiled{}
			svc := compiled(b, machine.Service(machine.DefaultServiceConfig()))
			ids := make([]actors.ID, n)
			for i := range ids {
				ids[i] = actors.ID(fmt.Sprintf("service.s%d", i))
				comps[ids[i]] = svc
			}
			sys, err := protoactor.Start(protoactor.Config{Log: log, Snapshots: snapbadger.New(log.DB()), SnapshotPolicy: snapshots.DefaultPolicy,
				Clock: clock.Real{}}, comps)
			if err != nil {
				b.Fatal(err)
			}
			defer sys.Stop()
			record := actors.EncodeRecord(actors.Record{Event: machine.Event{Type: machine.EventTransition, Machine: "service",
				From: machine.StateStopped, To: machine.StateStarting, Trigger: machine.RequestStart, Time: time.Now()},
				Status: machine.Status{State: machine.StateStarting}})
			perWorker := max(1, b.N/n)
			run := func(work func(w, i int) error) float64 {
				var wg sync.WaitGroup
				start := time.Now()
				for w := 0; w < n; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < perWorker; i++ {
							if err := work(w, i); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				return float64(perWorker*n) / time.Since(start).Seconds()
			}
			b.ResetTimer()
			appends := run(func(w, _ int) error {
				_, _, err := log.Append(ctx, fmt.Sprintf("bench.%d", w), events.AnyVersion(), []events.Event{record})
				return err
			})
			trips := run(func(w, i int) error {
				_, err := sys.Request(ctx, ids[w], serviceCycle[i%len(serviceCycle)])
				return err
			})
			b.StopTimer()
			b.ReportMetric(trips, "roundtrips/s")
			b.ReportMetric(appends, "appends/s")
			b.ReportMetric(trips/appends, "ratio")
		})
	}
}
