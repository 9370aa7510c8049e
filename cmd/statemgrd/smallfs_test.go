package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallFilesystem mounts a tmpfs of size bytes for the test, as BMC flash
// partitions are small; it skips when the test cannot mount (not root).
func smallFilesystem(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a %s tmpfs (needs root): %v %s", size, err, out)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	return dir
}

// TestStartsOnA64MBFilesystem: the bmc profile's free-space reserve is
// sized to the filesystem, so the daemon starts on a 64 MB partition.
func TestStartsOnA64MBFilesystem(t *testing.T) {
	dir, addr := smallFilesystem(t, "64m"), freeAddr(t)
	args := []string{"-data-dir", dir, "-http-listen", addr, "-nats-listen", freeAddr(t), "-storage-profile", "bmc"}
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(args, &bytes.Buffer{}, &stderr) }()
	for i := 0; i < 400; i++ {
		select {
		case c := <-code:
			t.Fatalf("exit %d on a 64 MB filesystem:\n%s", c, stderr.String())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				stopWithSIGTERM(t, code, &stderr)
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("never ready on a 64 MB filesystem:\n%s", stderr.String())
}

// TestRefusesATinyFilesystemAsNotEnoughSpace: where even the smallest
// reserve does not fit, the start fails saying so, not with a timeout.
func TestRefusesATinyFilesystemAsNotEnoughSpace(t *testing.T) {
	dir := smallFilesystem(t, "8m")
	args := []string{"-data-dir", dir, "-http-listen", freeAddr(t), "-nats-listen", freeAddr(t), "-storage-profile", "bmc"}
	var stderr bytes.Buffer
	if c := run(args, &bytes.Buffer{}, &stderr); c == 0 {
		t.Fatal("started on an 8 MB filesystem")
	}
	if log := stderr.String(); !strings.Contains(log, "not enough space") || strings.Contains(log, "timeout") || strings.Contains(log, "deadline") {
		t.Fatalf("the refusal does not say 'not enough space':\n%s", log)
	}
	_ = os.Remove(dir)
}
