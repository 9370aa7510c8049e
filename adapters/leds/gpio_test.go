package leds_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/adapters/platform"
)

// recordingGPIO hands out one output line that records the levels set.
type recordingGPIO struct {
	mu     sync.Mutex
	levels []bool
	cfg    adapters.LineConfig
}

func (g *recordingGPIO) Output(cfg adapters.LineConfig) (adapters.OutputLine, error) {
	g.cfg = cfg
	return recordingLine{g}, nil
}
func (g *recordingGPIO) Input(adapters.LineConfig, func(adapters.Edge)) (adapters.InputLine, error) {
	return nil, adapters.ErrUnsupported
}
func (g *recordingGPIO) Close() error { return nil }

func (g *recordingGPIO) seen() []bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]bool(nil), g.levels...)
}

type recordingLine struct{ g *recordingGPIO }

func (l recordingLine) Set(_ context.Context, asserted bool) error {
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	l.g.levels = append(l.g.levels, asserted)
	return nil
}
func (l recordingLine) Pulse(context.Context, time.Duration) error { return adapters.ErrUnsupported }
func (l recordingLine) Read(context.Context) (bool, error)         { return false, adapters.ErrUnsupported }
func (l recordingLine) Close() error                               { return nil }

// waitFor waits (in real time, bounded) until cond holds: the blinking
// goroutine runs on its own.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestGPIOLEDBlinksOnTheClock(t *testing.T) {
	clk := clock.NewVirtual(time.Unix(0, 0))
	g := &recordingGPIO{}
	w, err := leds.Hardware{GPIO: g, Clock: clk}.Open(platform.LED{Kind: platform.LEDPower, Line: adapters.LineConfig{Name: "LED_POWER", Polarity: adapters.ActiveLow}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if g.cfg.Name != "LED_POWER" || g.cfg.Polarity != adapters.ActiveLow {
		t.Fatalf("requested %+v", g.cfg)
	}
	ctx := context.Background()
	if err := w.Set(ctx, leds.Blink); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, true, false} {
		waitFor(t, "the blink timer", func() bool { return clk.Pending() == 1 })
		clk.Advance(leds.BlinkHalfPeriod * time.Millisecond)
		waitFor(t, "a toggle", func() bool { return len(g.seen()) == i+2 })
		if got := g.seen()[i+1]; got != want {
			t.Fatalf("toggle %d: level %v, want %v", i, got, want)
		}
	}
	if err := w.Set(ctx, leds.Off); err != nil {
		t.Fatal(err)
	}
	n := len(g.seen())
	if clk.Pending() != 0 {
		t.Fatal("a steady LED still has a blink timer")
	}
	clk.Advance(time.Hour)
	if got := g.seen(); len(got) != n || got[n-1] {
		t.Fatalf("after Off the line went %v", got[n-1:])
	}
}
