package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/process"
	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

// TestSIGKILLUnderLoadLosesNoAcknowledgedOperation drives control requests
// through NATS from several clients at once, SIGKILLs the daemon (a real
// child process) in the middle, restarts it on the same data, and checks
// that every operation the API acknowledged is in the component's history.
func TestSIGKILLUnderLoadLosesNoAcknowledgedOperation(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	args := "-data-dir " + dir + " -http-listen " + httpAddr + " -nats-listen " + natsAddr
	for kill := 1; kill <= 3; kill++ {
		child, childLog := startChildDaemon(t, args)
		waitReady(t, "http://"+httpAddr+"/readyz")
		nc, err := nats.Connect("nats://" + natsAddr)
		if err != nil {
			t.Fatal(err)
		}
		c := client.New(nc)
		var mu sync.Mutex
		var acked []string
		var wg sync.WaitGroup
		ctx, stop := context.WithCancel(context.Background())
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					enable := n%2 == 0
					op := fmt.Sprintf("k%d-w%d-%d", kill, w, n)
					rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					var reply server.ControlReply
					err := c.Request(rctx, server.SubjectBMCMaintenance, server.MaintenanceRequest{ID: "bmc.0", Enable: &enable, Operation: op}, &reply)
					cancel()
					// A refusal (busy, mostly: eight workers race for
					// the BMC) is acknowledged too: it is durable and has
					// an operation id.
					var apiErr *server.Error
					switch {
					case err == nil:
						op = reply.Operation
					case errors.As(err, &apiErr) && apiErr.Refusal != nil:
						op = apiErr.Refusal.Operation
					default:
						continue
					}
					mu.Lock()
					acked = append(acked, op)
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(300+kill*150) * time.Millisecond)
		_ = child.Process.Signal(syscall.SIGKILL)
		_ = child.Wait()
		stop()
		wg.Wait()
		nc.Close()
		if len(acked) == 0 {
			t.Fatalf("kill %d: no operation was acknowledged before the kill; the test proves nothing\n%s", kill, childLog.String())
		}
		// Every acknowledged operation is in the coordinator's log.
		l, err := badger.Open(badger.Options{Dir: filepath.Join(dir, "events"), Profile: badger.ProfileBMC, GCInterval: -1})
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kill, err)
		}
		evs, err := l.ReadStream(context.Background(), coordinator.Stream, 1, 0)
		_ = l.Close()
		if err != nil {
			t.Fatal(err)
		}
		logged := map[string]bool{}
		for _, e := range evs {
			if e.Type == coordinator.RecOpAccepted || e.Type == coordinator.RecOpRejected {
				logged[e.Operation] = true
			}
		}
		var lost []string
		for _, op := range acked {
			if !logged[op] {
				lost = append(lost, op)
			}
		}
		if len(lost) > 0 {
			t.Fatalf("kill %d: %d of %d acknowledged operations missing from the log: %s", kill, len(lost), len(acked), strings.Join(lost, " "))
		}
		t.Logf("kill %d: %d operations acknowledged, all in the log (%d coordinator records)", kill, len(acked), len(evs))
	}
	// The last killed daemon left its demo service running: clean it up as
	// the next start would, so the test leaves no process behind.
	orphans, err := process.CleanupOrphans(context.Background(), filepath.Join(dir, "services"), process.Options{})
	if err != nil || len(orphans) == 0 {
		t.Fatalf("cleanup after the last kill: %+v, %v; want the demo service found", orphans, err)
	}
}
