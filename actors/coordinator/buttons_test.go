package coordinator_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters/platform"
)

// pressRecorder passes every call to the hardware and records how long
// each button line stays asserted, on the coordinator's clock.
type pressRecorder struct {
	coordinator.Hardware
	clk   clock.Clock
	mu    sync.Mutex
	since map[string]time.Time
	held  map[string][]time.Duration // by line: "power" or "reset"
}

func (p *pressRecorder) record(line string, asserted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if asserted {
		p.since[line] = p.clk.Now()
		return
	}
	if at, ok := p.since[line]; ok {
		p.held[line] = append(p.held[line], p.clk.Now().Sub(at))
		delete(p.since, line)
	}
}

func (p *pressRecorder) SetPowerButton(ctx context.Context, host string, asserted bool) error {
	p.record("power", asserted)
	return p.Hardware.SetPowerButton(ctx, host, asserted)
}

func (p *pressRecorder) SetReset(ctx context.Context, host string, asserted bool) error {
	p.record("reset", asserted)
	return p.Hardware.SetReset(ctx, host, asserted)
}

func (p *pressRecorder) presses(line string) []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.held[line]
	p.held[line] = nil
	return out
}

// TestButtonTimingsComeFromThePlatformFile drives every button road of the
// API (power on, graceful off, a forced hold, a reset) on a platform file
// with non-default timings and measures each press on the line: each is
// the platform's number, not a default of the coordinator's.
func TestButtonTimingsComeFromThePlatformFile(t *testing.T) {
	src := bytes.Replace(platform.DefaultSource(), []byte(`power_pulse               = "200ms"`), []byte(`power_pulse = "450ms"`), 1)
	src = bytes.Replace(src, []byte(`force_off_hold            = "4s"`), []byte(`force_off_hold = "6s"`), 1)
	src = bytes.Replace(src, []byte(`reset_pulse               = "500ms"`), []byte(`reset_pulse = "350ms"`), 1)
	plat, err := platform.Parse("board.hcl", src)
	if err != nil {
		t.Fatal(err)
	}
	want := coordinator.Buttons{PowerPulse: 450 * time.Millisecond, ForceOffHold: 6 * time.Second, ResetPulse: 350 * time.Millisecond}
	if got := coordinator.TopologyOf(plat).Buttons; got != want {
		t.Fatalf("TopologyOf(board.hcl).Buttons = %+v, want %+v", got, want)
	}
	var rec *pressRecorder
	r := newRig(t, func(r *rig) {
		r.cfg.Topology.Buttons = coordinator.TopologyOf(plat).Buttons
		rec = &pressRecorder{Hardware: r.cfg.Hardware, clk: r.clk, since: map[string]time.Time{}, held: map[string][]time.Duration{}}
		r.cfg.Hardware = rec
	})
	r.must(chassisOn())
	check := func(what, line string, want time.Duration) {
		t.Helper()
		got := rec.presses(line)
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s line held %v, want one press of %v", what, line, got, want)
		}
	}
	r.must(hostOn(host0))
	check("power on", "power", want.PowerPulse)
	r.must(coordinator.Request{Kind: coordinator.HostReset, Target: host0, ResetType: machine.RequestForceRestart})
	check("ForceRestart", "reset", want.ResetPulse)
	r.must(coordinator.Request{Kind: coordinator.HostForceOff, Target: host0})
	check("ForceOff", "power", want.ForceOffHold)
}
