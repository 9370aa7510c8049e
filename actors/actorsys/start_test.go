package actorsys_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors/actorsys"
)

// syncBuffer is a log sink safe for the actors' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func bufferLogger() (hclog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Info}), buf
}

// echo answers every request with its message.
func echo(ctx actor.Context) {
	if s, ok := ctx.Message().(string); ok {
		ctx.Respond(s)
	}
}

// On 32-bit targets protoactor's registry indexed its buckets with a
// negative number for about half of all ids, so spawning or asking such an
// actor panicked (under qemu-arm: "index out of range [-432]" spawning
// "devices/psu.0.psu0", and statemgrd hung). 64 named actors and 64
// futures all land in the registry, and the processes the system
// registered itself are still found.
func TestNewActorSystemRegistersEveryID(t *testing.T) {
	sys := actorsys.NewActorSystem(hclog.NewNullLogger())
	defer sys.Shutdown()
	for i := range 64 {
		name := fmt.Sprintf("devices/psu.%d.psu%d", i/2, i)
		pid, err := sys.Root.SpawnNamed(actor.PropsFromFunc(echo), name)
		if err != nil {
			t.Fatalf("spawn %s: %v", name, err)
		}
		res, err := sys.Root.RequestFuture(pid, name, 5*time.Second).Result()
		if err != nil || res != name {
			t.Fatalf("ask %s: %v, %v", name, res, err)
		}
	}
	if p, ok := sys.ProcessRegistry.GetLocal("eventstream"); !ok || p == nil {
		t.Fatal("the system's eventstream process is no longer registered")
	}
}

// The registry keeps one bucket, and nothing else of the 1,024 protoactor
// allocates (32 map shards each, ~3 MB of heap, kept reachable by a
// reslice): an actor system costs tens of KB, not megabytes.
func TestNewActorSystemFreesTheUnusedRegistryBuckets(t *testing.T) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sys := actorsys.NewActorSystem(hclog.NewNullLogger())
	defer sys.Shutdown()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := cap(sys.ProcessRegistry.LocalPIDs.LocalPIDs); n != 1 {
		t.Errorf("the registry's bucket slice has capacity %d, want 1", n)
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 1<<20 {
		t.Errorf("an actor system holds %d KiB of heap after a GC, want well under 1 MiB", grew>>10)
	}
	runtime.KeepAlive(sys)
}

func TestStartSupervisedStartsEveryChildInOrder(t *testing.T) {
	sys := actorsys.NewActorSystem(hclog.NewNullLogger())
	defer sys.Shutdown()
	var children []actorsys.Child
	for i := range 5 {
		children = append(children, actorsys.Child{Name: fmt.Sprintf("c%d", i), Props: actor.PropsFromFunc(echo)})
	}
	parent, pids, err := actorsys.StartSupervised(sys, "sup", actor.NewOneForOneStrategy(10, time.Second, actor.DefaultDecider), children, 10*time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if parent.Id != "sup" || len(pids) != 5 {
		t.Fatalf("parent %v, %d pids", parent, len(pids))
	}
	for i, pid := range pids {
		if want := fmt.Sprintf("sup/c%d", i); pid.Id != want {
			t.Errorf("pid %d is %s, want %s", i, pid.Id, want)
		}
		if res, err := sys.Root.RequestFuture(pid, "hi", 5*time.Second).Result(); err != nil || res != "hi" {
			t.Errorf("%s: %v, %v", pid.Id, res, err)
		}
	}
}

// A child whose Started handler never returns used to leave the caller
// waiting for ever, logging nothing; now the start times out naming it.
func TestStartSupervisedTimesOutNamingTheChildThatNeverStarts(t *testing.T) {
	sys := actorsys.NewActorSystem(hclog.NewNullLogger())
	defer sys.Shutdown()
	release := make(chan struct{})
	defer close(release)
	blocked := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			<-release
		}
	})
	children := []actorsys.Child{{Name: "good", Props: actor.PropsFromFunc(echo)}, {Name: "never-ready", Props: blocked}}
	_, _, err := actorsys.StartSupervised(sys, "sup", actor.NewOneForOneStrategy(10, time.Second, actor.DefaultDecider), children, 200*time.Millisecond, hclog.NewNullLogger())
	var se *actorsys.StartError
	if !errors.As(err, &se) || se.Actor != "never-ready" || !errors.Is(err, actorsys.ErrStartTimeout) {
		t.Fatalf("error %v, want a *StartError naming never-ready wrapping ErrStartTimeout", err)
	}
	if !strings.Contains(err.Error(), "1 actors not started") {
		t.Errorf("error %q does not say how many actors are not started", err)
	}
}

// A child panicking in Started fails the start at once, naming it and the
// panic, and the panic is logged with its stack (protoactor only logs it
// at debug level, without a stack).
func TestStartSupervisedReportsAndLogsAPanicInStarted(t *testing.T) {
	sys := actorsys.NewActorSystem(hclog.NewNullLogger())
	defer sys.Shutdown()
	log, buf := bufferLogger()
	panicky := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			var s []int
			_ = s[len(ctx.Self().Id)] // index out of range
		}
	})
	children := []actorsys.Child{{Name: "good", Props: actor.PropsFromFunc(echo)}, {Name: "bad", Props: panicky}}
	_, _, err := actorsys.StartSupervised(sys, "sup", actor.NewOneForOneStrategy(10, time.Second, actor.DefaultDecider), children, time.Minute, log)
	var se *actorsys.StartError
	if !errors.As(err, &se) || se.Actor != "bad" || !errors.Is(err, actorsys.ErrActorPanicked) || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("error %v, want a *StartError naming bad wrapping ErrActorPanicked with the panic", err)
	}
	out := buf.String()
	for _, want := range []string{"[ERROR]", "actor panicked", "actor=sup/bad", "index out of range", "start_test.go"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// A panic of the supervisor while it spawns a child (the 32-bit registry
// bug did that) is reported as that child's failure.
func TestStartSupervisedNamesTheChildWhoseSpawnPanicked(t *testing.T) {
	sys := actorsys.NewActorSystem(hclog.NewNullLogger())
	defer sys.Shutdown()
	children := []actorsys.Child{{Name: "good", Props: actor.PropsFromFunc(echo)}, {Name: "unspawnable", Props: actor.PropsFromFunc(echo, actor.WithSpawnFunc(func(*actor.ActorSystem, string, *actor.Props, actor.SpawnerContext) (*actor.PID, error) {
		panic("registry broken")
	}))}}
	_, _, err := actorsys.StartSupervised(sys, "sup", actor.NewOneForOneStrategy(10, time.Second, actor.DefaultDecider), children, time.Minute, hclog.NewNullLogger())
	var se *actorsys.StartError
	if !errors.As(err, &se) || se.Actor != "unspawnable" || !errors.Is(err, actorsys.ErrActorPanicked) || !strings.Contains(err.Error(), "registry broken") {
		t.Fatalf("error %v, want a *StartError naming unspawnable wrapping ErrActorPanicked", err)
	}
}
