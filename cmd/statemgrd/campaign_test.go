package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server/campaign"
)

// campaignRSSBound is the bound on the daemon's peak resident memory
// (VmHWM, start included) over the campaign, on the bmc profile; docs/API.md
// states it, docs/PERFORMANCE.md records what was measured.
const campaignRSSBound = 96 << 20

// procMemory reads VmRSS and VmHWM (bytes) from /proc/<pid>/status.
func procMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, _ := strconv.ParseInt(fields[0], 10, 64)
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

// TestHostileInputCampaign runs the campaign (package server/campaign)
// against a real daemon, a child process on the bmc profile: every
// endpoint $SRV.INFO lists, every generated body. Each reply must be a
// success or a catalogued error (a refusal where the body is no request),
// the daemon must answer statemgr.hosts.list after each endpoint's batch,
// and its peak RSS stay under campaignRSSBound. The default platform's BMC
// reset restarts the daemon: the campaign sends statemgr.bmc.reset's cases
// one at a time and waits for the daemon to come back after each, and at
// least one must have restarted it. STATEMGR_CAMPAIGN_SEEDS=n
// runs n seeds instead of one (the long variant).
func TestHostileInputCampaign(t *testing.T) {
	seeds := 1
	if n, err := strconv.Atoi(os.Getenv("STATEMGR_CAMPAIGN_SEEDS")); err == nil && n > 0 {
		seeds = n
	}
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	child, childLog := startChildDaemon(t, "-data-dir "+dir+" -storage-profile bmc -http-listen "+httpAddr+" -nats-listen "+natsAddr)
	defer func() {
		_ = child.Process.Signal(syscall.SIGTERM)
		_ = child.Wait()
	}()
	waitReady(t, "http://"+httpAddr+"/readyz")
	pid := child.Process.Pid
	idle, _, err := procMemory(pid)
	if err != nil {
		t.Fatal(err)
	}
	// The default platform's BMC reset restarts the daemon, its embedded
	// NATS server included: the connection must outlive the restarts.
	nc, err := nats.Connect("nats://"+natsAddr, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	// Sample VmRSS while the campaign runs; VmHWM at the end catches any
	// peak between samples.
	var mu sync.Mutex
	var peakRSS int64
	sample := func() {
		if rss, _, err := procMemory(pid); err == nil {
			mu.Lock()
			peakRSS = max(peakRSS, rss)
			mu.Unlock()
		}
	}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for tick := time.NewTicker(10 * time.Millisecond); ; {
			select {
			case <-stop:
				tick.Stop()
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	var reports []*campaign.Report
	start := time.Now()
	for seed := range seeds {
		rep, err := campaign.Run(context.Background(), nc, campaign.Config{Seed: uint64(seed + 1), AfterBatch: func(string) { sample() }, ResetRestarts: true})
		if err != nil {
			t.Fatalf("%v\n%s", err, childLog.String())
		}
		if rep.Restarts == 0 {
			t.Errorf("seed %d: no statemgr.bmc.reset case restarted the daemon; the reset path went unexercised", seed+1)
		}
		reports = append(reports, rep)
	}
	close(stop)
	<-sampled
	_, hwm, err := procMemory(pid)
	if err != nil {
		t.Fatalf("the daemon is gone after the campaign: %v\n%s", err, childLog.String())
	}

	cases, perClass := 0, map[campaign.Class]int{}
	var failures []string
	for _, rep := range reports {
		for _, l := range rep.Liveness {
			t.Errorf("daemon not answering: %s", l)
		}
		for _, r := range rep.Results {
			cases++
			perClass[r.Case.Class]++
			if r.Verdict.Problem == "" {
				continue
			}
			line := fmt.Sprintf("%s [%s] %s: %s", r.Case.Subject, r.Case.Class, r.Case.What, r.Verdict.Problem)
			failures = append(failures, line)
		}
	}
	for _, f := range failures[:min(len(failures), 40)] {
		t.Errorf("NOT AS PROMISED: %s", f)
	}
	if len(failures) > 40 {
		t.Errorf("... and %d more", len(failures)-40)
	}
	restarts := 0
	for _, rep := range reports {
		restarts += rep.Restarts
	}
	t.Logf("campaign: %d seeds, %d endpoints, %d cases, %d BMC resets that restarted the daemon, in %v; per class %v",
		seeds, len(reports[0].Endpoints), cases, restarts, time.Since(start).Round(time.Millisecond), perClass)
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	t.Logf("daemon memory: idle VmRSS %.1f MB, peak sampled VmRSS %.1f MB, VmHWM %.1f MB (bound %d MB); now %s",
		float64(idle)/1e6, float64(peakRSS)/1e6, float64(hwm)/1e6, campaignRSSBound>>20, grepLines(string(status), "Rss"))
	if hwm > campaignRSSBound && !raceEnabled {
		t.Errorf("peak RSS (VmHWM) %d bytes, bound %d", hwm, campaignRSSBound)
	}
	if len(reports[0].Endpoints) < 20 {
		t.Errorf("only %d endpoints discovered", len(reports[0].Endpoints))
	}
	// The daemon's own HTTP listener refuses an oversized header too.
	if status := oversizedHeaderStatus(t, httpAddr); status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("the daemon's HTTP listener answered an oversized header %d, want 431", status)
	}
}

// oversizedHeaderStatus sends /healthz a 64 KiB header and returns the
// status.
func oversizedHeaderStatus(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: bmc\r\nX-Big: %s\r\n\r\n", strings.Repeat("x", 64<<10)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
