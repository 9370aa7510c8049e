package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statemgr/statemgr/server"
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

// fillFilesystem writes a file that leaves about leave bytes free in dir
// and returns its path.
func fillFilesystem(t *testing.T, dir string, leave int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0xa5}, 1<<20)
	for n := int64(st.Bavail)*int64(st.Bsize) - leave; n > 0; n -= int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), n)]); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// getJSON fetches url and returns its status and body.
func getJSON(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	return resp.StatusCode, body.String()
}

// TestFullDiskIsNotReadyAndResumes: with less free space than the log's
// reserve, /readyz is not ok and says why, /healthz stays ok with a warning
// (a restart would not free space), control requests fail no_space with a
// hint that appends resume by themselves, the daemon logs one warning for
// them rather than one per request, and once space is freed the daemon is
// ready and appends again without a restart.
func TestFullDiskIsNotReadyAndResumes(t *testing.T) {
	dir, httpAddr, natsAddr := smallFilesystem(t, "64m"), freeAddr(t), freeAddr(t)
	args := []string{"-data-dir", dir, "-http-listen", httpAddr, "-nats-listen", natsAddr, "-storage-profile", "bmc"}
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(args, &bytes.Buffer{}, &stderr) }()
	waitReady(t, "http://"+httpAddr+"/readyz")
	filler := fillFilesystem(t, dir, 8<<20)

	if status, body := getJSON(t, "http://"+httpAddr+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "not enough space") {
		t.Fatalf("/readyz on a full disk: %d %s; want 503 saying not enough space", status, body)
	}
	if status, body := getJSON(t, "http://"+httpAddr+"/healthz"); status != http.StatusOK || !strings.Contains(body, "not enough space") {
		t.Fatalf("/healthz on a full disk: %d %s; want 200 with a warning", status, body)
	}
	cl := demoClient(t, natsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const requests = 40
	for i := 0; i < requests; i++ {
		err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", PowerChassis: true, Operation: fmt.Sprintf("full-%d", i)}, nil)
		var apiErr *server.Error
		if !errors.As(err, &apiErr) || apiErr.Kind != server.ErrNoSpace || !strings.Contains(apiErr.EffectiveHint(), "resume by themselves") {
			t.Fatalf("request %d on a full disk: %v; want no_space saying appends resume", i, err)
		}
	}
	if n := strings.Count(stderr.String(), "request failed"); n != 1 {
		t.Errorf("%d requests failing the same way logged %d warnings, want 1:\n%s", requests, n, grepLines(stderr.String(), "request failed"))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "http://"+httpAddr+"/readyz")
	var on server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", PowerChassis: true, Operation: "after-full", Wait: "20s"}, &on); err != nil {
		t.Fatalf("after freeing space: %v", err)
	}
	if on.Outcome == nil || on.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("power on after freeing space: %+v", on.Outcome)
	}
	stopWithSIGTERM(t, code, &stderr)
}
