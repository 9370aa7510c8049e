package badger_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// TestKilledChildThenDamaged: a child appending through the real log
// (TestCrashChild) is SIGKILLed once it has acknowledged at least 2,000
// events; then each file the kill left is damaged in each of
// campaignDamages. Against the acknowledgements the parent read from the
// child, every outcome must be "all present" or "refused" with the report.
func TestKilledChildThenDamaged(t *testing.T) {
	if testing.Short() {
		t.Skip("SIGKILL variant of the corruption campaign skipped in -short mode")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "STATEMGR_CRASH_RUN=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// readAcks stops at EOF: feed it what the child printed before the
	// kill, and kill once enough was printed.
	pr, pw := io.Pipe()
	got := make(chan []ack, 1)
	go func() { got <- readAcks(pr) }()
	buf := make([]byte, 32<<10)
	for lines := 0; lines < 2000; {
		n, err := stdout.Read(buf)
		if err != nil {
			t.Fatalf("the child stopped before 2000 acknowledgements: %v %s", err, stderr.String())
		}
		lines += strings.Count(string(buf[:n]), "\n")
		_, _ = pw.Write(buf[:n])
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_, _ = io.Copy(pw, stdout)
	_ = pw.Close()
	acks := <-got
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child exited by itself: %s", stderr.String())
	}
	acked := make([]loggedEvent, len(acks))
	for i, a := range acks {
		acked[i] = loggedEvent(a)
	}
	sort.Slice(acked, func(i, j int) bool { return acked[i].g < acked[j].g })
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	tally := map[string]int{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		for _, damage := range campaignDamages {
			t.Run(e.Name()+"/"+damage, func(t *testing.T) {
				damaged := copyDir(t, dir)
				damageFile(t, filepath.Join(damaged, e.Name()), damage)
				got, err := campaignOutcome(t, damaged, acked)
				if err != nil {
					t.Fatal(err)
				}
				tally[got]++
			})
		}
	}
	t.Logf("%d acknowledged before the kill; outcomes %v", len(acked), tally)
}
