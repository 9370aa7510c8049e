package badger_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/events/badger"
)

var crashKills = flag.Int("crash.kills", 20, "how many times TestCrashKill9 SIGKILLs its appending child (go tool -modfile=.tools/go.mod task crash runs 300)")

const crashChildEnv = "STATEMGR_CRASH_CHILD_DIR"

// TestCrashChild is the child of TestCrashKill9: it appends under concurrent
// load until it is killed, printing each acknowledged append.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrashKill9")
	}
	run := os.Getenv("STATEMGR_CRASH_RUN")
	l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child cannot open:", err)
		os.Exit(3)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				stream := fmt.Sprintf("w.%d", (w+n)%24)
				size := 1 + n%3 // batches of 1 to 3 events
				batch := make([]events.Event, size)
				for i := range batch {
					batch[i] = events.Event{Type: "load", Schema: 1, Payload: fmt.Appendf(nil, "%s/%d/%d/%d", run, w, n, i)}
				}
				stored, _, err := l.Append(context.Background(), stream, events.AnyVersion(), batch)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(4)
				}
				var line strings.Builder
				for _, e := range stored {
					fmt.Fprintf(&line, "ack %s %d %d %s\n", e.Stream, e.StreamSeq, e.GlobalSeq, e.Payload)
				}
				out.Lock()
				_, _ = io.WriteString(os.Stdout, line.String())
				out.Unlock()
			}
		}()
	}
	wg.Wait()
}

type ack struct {
	stream  string
	seq, g  uint64
	payload string
}

// TestCrashKill9 runs a real child process appending under concurrent load,
// SIGKILLs it at a random moment, reopens the log and checks that every
// append acknowledged before the kill is present, in order, without gaps.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	var acked []ack
	var head uint64 // log head verified after the previous kill
	for run := 0; run < *crashKills; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "STATEMGR_CRASH_RUN="+strconv.Itoa(run))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan []ack, 1)
		go func() { lines <- readAcks(stdout) }()
		// Kill at a random moment: sometimes while the child is still
		// opening and recovering the log, mostly under load.
		time.Sleep(time.Duration(rng.IntN(400)+5) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		got := <-lines
		werr := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("run %d: child exited by itself (%v): %s", run, werr, stderr.String())
		}
		acked = append(acked, got...)
		// Re-reading the whole log after every kill is quadratic; check
		// the part written since the last kill each time, and everything
		// every 25th kill and after the last.
		from := head + 1
		if run%25 == 24 || run == *crashKills-1 {
			from = 1
		}
		head = verifyAcked(t, dir, run, acked, from)
	}
	t.Logf("%d kills, %d acknowledged events, all present after every kill", *crashKills, len(acked))
}

// readAcks parses complete "ack" lines; a line torn by the kill is dropped,
// since the child had not finished reporting it.
func readAcks(r io.Reader) []ack {
	var out []ack
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 || f[0] != "ack" {
			continue
		}
		seq, err1 := strconv.ParseUint(f[2], 10, 64)
		g, err2 := strconv.ParseUint(f[3], 10, 64)
		if err1 != nil || err2 != nil || strings.Count(f[4], "/") != 3 {
			continue
		}
		out = append(out, ack{f[1], seq, g, f[4]})
	}
	return out
}

// verifyAcked reopens the log, checks that the events from global seq from
// on have no gap and that every acknowledged event at or after from is
// stored as acknowledged, and returns the log's head.
func verifyAcked(t *testing.T, dir string, run int, acked []ack, from uint64) uint64 {
	t.Helper()
	l, err := badger.Open(badger.Options{Dir: dir, Profile: badger.ProfileBMC, GCInterval: -1})
	if err != nil {
		t.Fatalf("run %d: reopen after SIGKILL: %v", run, err)
	}
	defer l.Close()
	tail, err := l.ReadAll(context.Background(), from, 0)
	if err != nil {
		t.Fatalf("run %d: read after SIGKILL: %v", run, err)
	}
	head := from - 1 + uint64(len(tail))
	last := map[string]uint64{} // stream seq last seen in the tail
	for i, e := range tail {
		prev, seen := last[e.Stream]
		if e.GlobalSeq != from+uint64(i) || (seen && e.StreamSeq != prev+1) || (!seen && from == 1 && e.StreamSeq != 1) {
			t.Fatalf("run %d: gap at global %d (%s seq %d)", run, from+uint64(i), e.Stream, e.StreamSeq)
		}
		last[e.Stream] = e.StreamSeq
	}
	for _, a := range acked {
		if a.g < from {
			continue
		}
		if a.g > head {
			t.Fatalf("run %d: acknowledged event %s/%d (global %d) lost: log ends at %d", run, a.stream, a.seq, a.g, head)
		}
		e := tail[a.g-from]
		if e.Stream != a.stream || e.StreamSeq != a.seq || string(e.Payload) != a.payload {
			t.Fatalf("run %d: global %d is %s/%d %q, acknowledged as %s/%d %q", run, a.g, e.Stream, e.StreamSeq, e.Payload, a.stream, a.seq, a.payload)
		}
	}
	return head
}
