package process

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters/platform"
)

func TestStartOrder(t *testing.T) {
	t.Parallel()
	services := []platform.Service{
		{Name: "web", After: []string{"db", "cache"}},
		{Name: "cache"},
		{Name: "db", After: []string{"net"}},
		{Name: "net"},
		{Name: "metrics", Before: []string{"net"}},
	}
	start, err := StartOrder(services)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cache", "metrics", "net", "db", "web"}; !slices.Equal(start, want) {
		t.Fatalf("start order %v, want %v", start, want)
	}
	stop, err := StopOrder(services)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"web", "db", "net", "metrics", "cache"}; !slices.Equal(stop, want) {
		t.Fatalf("stop order %v, want %v", stop, want)
	}
}

func TestStartOrderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		services []platform.Service
		want     error
		text     string
	}{
		{"cycle", []platform.Service{
			{Name: "free"},
			{Name: "a", After: []string{"c"}},
			{Name: "b", After: []string{"a"}},
			{Name: "c", After: []string{"b"}},
		}, ErrDependencyCycle, "a → b → c → a"},
		{"cycle through before", []platform.Service{
			{Name: "x", Before: []string{"y"}},
			{Name: "y", Before: []string{"x"}},
		}, ErrDependencyCycle, "x → y → x"},
		{"unknown", []platform.Service{{Name: "a", After: []string{"ghost"}}}, ErrUnknownDependency, `"ghost"`},
	}
	for _, tt := range tests {
		_, err := StartOrder(tt.services)
		var se *ServiceError
		if !errors.Is(err, tt.want) || !errors.As(err, &se) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: %v, want %v mentioning %s", tt.name, err, tt.want, tt.text)
		}
	}
}

// Ensure StartAll starts a service only once those before it are ready,
// and CloseAll stops them in reverse.
func TestStartAllCloseAllOrder(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	slow := demoService("slow", "--listen", addr, "--ready-after", "300ms")
	slow.Readiness = &platform.Check{Kind: platform.CheckHTTP, URL: healthz(addr), Interval: 50 * time.Millisecond, Threshold: 100}
	fast := demoService("fast")
	fast.After = []string{"slow"}
	services := []platform.Service{fast, slow}

	rec := newRecorder()
	sups := map[string]*Supervisor{}
	for _, svc := range services {
		s, err := NewSupervisor(SupervisorConfig{Service: svc, Observe: rec.observe, Logger: testLogger(t, nil)})
		if err != nil {
			t.Fatal(err)
		}
		sups[svc.Name] = s
	}
	start, err := StartOrder(services)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := StopOrder(services)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := StartAll(ctx, start, sups); err != nil {
		t.Fatal(err)
	}
	if err := CloseAll(ctx, stop, sups); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range rec.all() {
		got = append(got, o.Service+":"+o.Trigger)
	}
	want := []string{"slow:initialized", "fast:initialized", "fast:stopped", "slow:stopped"}
	if !slices.Equal(got, want) {
		t.Fatalf("observations %v, want %v", got, want)
	}
}

// Ensure StartAll stops at a service that does not become ready.
func TestStartAllStopsAtFailure(t *testing.T) {
	t.Parallel()
	broken := demoService("broken", "--crash")
	broken.Restart.Policy = platform.RestartNever
	broken.Readiness = &platform.Check{Kind: platform.CheckTCP, Address: freeAddr(t), Interval: 50 * time.Millisecond, Threshold: 100}
	after := demoService("after")
	after.After = []string{"broken"}
	sups := map[string]*Supervisor{}
	for _, svc := range []platform.Service{broken, after} {
		s, _ := newSupervisor(t, SupervisorConfig{Service: svc})
		sups[svc.Name] = s
	}
	err := StartAll(context.Background(), []string{"broken", "after"}, sups)
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "exit code 2") {
		t.Fatalf("StartAll: %v, want ErrNotReady with the exit code", err)
	}
	if sups["after"].PID() != 0 {
		t.Fatal("a service started after a dependency that failed")
	}
}
