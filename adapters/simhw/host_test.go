package simhw_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/simhw"
)

func TestHostPowerOnNeedsChassisPower(t *testing.T) {
	r := newRig(t, simhw.Config{})
	l := lines("0")
	power := r.output(l.PowerOut)
	pwrok := r.watch(l.PowerOK)
	r.press(power, 200*time.Millisecond)
	r.advance(5 * time.Second)
	if r.p.HostPowered("0") || r.read(pwrok) {
		t.Fatal("host powered on without chassis power")
	}
	r.chassisOn()
	r.takeEdges()
	r.press(power, 200*time.Millisecond)
	if s := r.host("0"); s.Power != simhw.PowerPoweringOn {
		t.Errorf("after the press: %v, want powering-on", s.Power)
	}
	r.advance(499 * time.Millisecond)
	if r.p.HostPowered("0") {
		t.Error("power good before the power-on delay")
	}
	r.advance(time.Millisecond)
	if !r.p.HostPowered("0") || !r.read(pwrok) {
		t.Fatal("no power good 500 ms after the press")
	}
	if got, want := r.takeEdges(), []string{"PS_PWROK=1@6.9s"}; !equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
}

func TestShortPressBelowMinimumIgnored(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	power := r.output(lines("0").PowerOut)
	r.press(power, 50*time.Millisecond)
	r.advance(5 * time.Second)
	if s := r.host("0"); s.Power != simhw.PowerOff {
		t.Errorf("a 50 ms bounce turned the host to %v", s.Power)
	}
}

func TestPostCompleteTiming(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	power := r.output(l.PowerOut)
	post := r.watch(l.PostComplete)
	r.press(power, 200*time.Millisecond)
	r.advance(500 * time.Millisecond) // power good now
	r.advance(20*time.Second - time.Millisecond)
	if r.read(post) || r.host("0").PostComplete {
		t.Error("POST complete before the boot delay")
	}
	r.advance(time.Millisecond)
	if !r.read(post) {
		t.Error("POST not complete 20 s after power good")
	}
	if got, want := r.takeEdges(), []string{"POST_COMPLETE=1@21.7s"}; !equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
}

func TestShortPressGracefulShutdown(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	power := r.output(l.PowerOut)
	r.watch(l.PowerOK)
	r.watch(l.PostComplete)
	r.hostOn(power)
	r.advance(30 * time.Second)
	r.takeEdges()
	start := r.clk.Now()
	r.press(power, 200*time.Millisecond)
	if s := r.host("0"); s.Power != simhw.PowerShuttingDown || !s.PowerGood {
		t.Fatalf("after a short press: %+v, want shutting down with power good", s)
	}
	r.advance(10*time.Second - time.Millisecond)
	if !r.p.HostPowered("0") {
		t.Fatal("host off before the OS finished shutting down")
	}
	r.advance(time.Millisecond)
	if r.p.HostPowered("0") {
		t.Fatal("host still on after the shutdown delay")
	}
	at := r.clk.Now().Sub(t0)
	want := []string{"POST_COMPLETE=0@" + at.String(), "PS_PWROK=0@" + at.String()}
	if got := r.takeEdges(); !equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	if d := r.clk.Now().Sub(start); d != 10200*time.Millisecond {
		t.Errorf("shutdown took %v from the press", d)
	}
}

func TestHoldForcesOff(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	power := r.output(lines("0").PowerOut)
	r.hostOn(power)
	r.set(power, true)
	r.advance(4*time.Second - time.Millisecond)
	if !r.p.HostPowered("0") {
		t.Fatal("off before the 4 s hold")
	}
	r.advance(time.Millisecond)
	if r.p.HostPowered("0") {
		t.Fatal("still on at 4 s of hold, while held")
	}
	r.advance(time.Second)
	r.set(power, false)
	r.advance(5 * time.Second)
	if s := r.host("0"); s.Power != simhw.PowerOff {
		t.Errorf("releasing a hold must do nothing more, host is %v", s.Power)
	}
}

func TestResetPulse(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	power, reset := r.output(l.PowerOut), r.output(l.ResetOut)
	r.watch(l.PowerOK)
	r.watch(l.PostComplete)
	r.hostOn(power)
	r.advance(30 * time.Second)
	r.takeEdges()
	r.set(reset, true)
	s := r.host("0")
	if !s.PowerGood || s.PostComplete || !s.InReset {
		t.Fatalf("in reset: %+v", s)
	}
	r.advance(500 * time.Millisecond)
	r.set(reset, false)
	r.advance(20*time.Second - time.Millisecond)
	if r.host("0").PostComplete {
		t.Error("POST complete before the boot delay after reset")
	}
	r.advance(time.Millisecond)
	s = r.host("0")
	if !s.PostComplete || !s.PowerGood || s.Resets != 1 {
		t.Errorf("after the reboot: %+v", s)
	}
	got := r.takeEdges()
	if len(got) != 2 || got[0] != "POST_COMPLETE=0@32.2s" || got[1] != "POST_COMPLETE=1@52.7s" {
		t.Errorf("edges %v: want POST_COMPLETE down at the reset, up 20 s after release, no PS_PWROK change", got)
	}
}

func TestResetAbandonsGracefulShutdown(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	power, reset := r.output(l.PowerOut), r.output(l.ResetOut)
	r.hostOn(power)
	r.press(power, 200*time.Millisecond)
	r.press(reset, 100*time.Millisecond)
	r.advance(30 * time.Second)
	if s := r.host("0"); s.Power != simhw.PowerOn || !s.PostComplete {
		t.Errorf("reset during shutdown: %+v, want on and booted", s)
	}
}

func TestNMIRecorded(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	power, nmi := r.output(l.PowerOut), r.output(l.NMIOut)
	r.press(nmi, 100*time.Millisecond) // host off: nothing to interrupt
	r.hostOn(power)
	r.press(nmi, 100*time.Millisecond)
	if got := r.host("0").NMIs; got != 1 {
		t.Errorf("NMIs %d, want 1", got)
	}
}

func TestPulseOnVirtualClock(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	power := r.output(lines("0").PowerOut)
	pending := r.clk.Pending()
	done := make(chan error, 1)
	go func() { done <- power.Pulse(r.ctx, 200*time.Millisecond) }()
	// The press arms the hold check (model timer) and Pulse its own timer.
	waitPending(t, r.clk, pending+2)
	if !r.host("0").ButtonAsserted {
		t.Fatal("button not asserted during the pulse")
	}
	r.clk.Advance(200 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatalf("Pulse: %v", err)
	}
	r.advance(500 * time.Millisecond)
	if !r.p.HostPowered("0") {
		t.Error("a 200 ms Pulse did not power the host on")
	}

	// A cancelled pulse deasserts before returning.
	ctx, cancel := context.WithCancel(r.ctx)
	go func() { done <- power.Pulse(ctx, 10*time.Second) }()
	waitFor(t, func() bool { return r.host("0").ButtonAsserted })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Pulse: err %v", err)
	}
	if v := r.read(power); v || r.host("0").ButtonAsserted {
		t.Error("line left asserted after a cancelled pulse")
	}
	if err := power.Pulse(r.ctx, 0); !errors.Is(err, simhw.ErrInvalidArgument) {
		t.Errorf("zero pulse: err %v", err)
	}
}

func TestChassisLossDropsEveryHost(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l0, l1 := lines("0"), lines("1")
	p0, p1 := r.output(l0.PowerOut), r.output(l1.PowerOut)
	r.watch(l0.PowerOK)
	r.watch(l1.PowerOK)
	r.set(p0, true)
	r.set(p1, true)
	r.advance(200 * time.Millisecond)
	r.set(p0, false)
	r.set(p1, false)
	r.advance(time.Second)
	if !r.p.HostPowered("0") || !r.p.HostPowered("1") {
		t.Fatal("hosts did not power on")
	}
	r.takeEdges()
	if err := r.p.Inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: "psu0"}); err != nil {
		t.Fatal(err)
	}
	if !r.p.HostPowered("0") || !r.p.HostPowered("1") {
		t.Fatal("one PSU lost must not drop the hosts (1+1)")
	}
	if err := r.p.Inject(simhw.Fault{Kind: simhw.PSUVinUV, Target: "psu1"}); err != nil {
		t.Fatal(err)
	}
	if r.p.ChassisPowerGood() || r.p.HostPowered("0") || r.p.HostPowered("1") {
		t.Fatal("AC lost on both PSUs: chassis and hosts must be off")
	}
	at := r.clk.Now().Sub(t0).String()
	if got, want := r.takeEdges(), []string{"PS_PWROK=0@" + at, "PS_PWROK_1=0@" + at}; !equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	// AC back: the PSUs restart, the hosts stay off.
	for _, n := range []string{"psu0", "psu1"} {
		if err := r.p.Clear(simhw.PSUVinUV, n); err != nil {
			t.Fatal(err)
		}
	}
	r.advance(time.Second)
	if !r.p.ChassisPowerGood() || r.p.HostPowered("0") {
		t.Error("after AC returns: chassis should be good and hosts off")
	}
}

func TestOutsideButtonPressEdgesInOrder(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	r.watch(l.PowerButton)
	r.watch(l.PowerOK)
	r.watch(l.PostComplete)
	if err := r.p.PressPowerButton("0", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := r.p.PressPowerButton("0", time.Second); !errors.Is(err, simhw.ErrButtonPressed) {
		t.Errorf("second press while held: err %v", err)
	}
	r.advance(25 * time.Second)
	want := []string{
		"POWER_BUTTON=1@1s",
		"POWER_BUTTON=0@1.2s",
		"PS_PWROK=1@1.7s",
		"POST_COMPLETE=1@21.7s",
	}
	if got := r.takeEdges(); !equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	// A long press from outside forces the host off at 4 s.
	if err := r.p.PressPowerButton("0", 4*time.Second); err != nil {
		t.Fatal(err)
	}
	r.advance(5 * time.Second)
	want = []string{
		"POWER_BUTTON=1@26s",
		"POST_COMPLETE=0@30s",
		"PS_PWROK=0@30s",
		"POWER_BUTTON=0@30s",
	}
	if got := r.takeEdges(); !equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	if err := r.p.PressPowerButton("9", time.Second); !errors.Is(err, simhw.ErrUnknownTarget) {
		t.Errorf("unknown host: err %v", err)
	}
	if err := r.p.PressPowerButton("0", 0); !errors.Is(err, simhw.ErrInvalidArgument) {
		t.Errorf("zero press: err %v", err)
	}
}

func TestHostFaults(t *testing.T) {
	t.Run("power good never rises", func(t *testing.T) {
		r := newRig(t, simhw.Config{})
		r.chassisOn()
		l := lines("0")
		power := r.output(l.PowerOut)
		r.watch(l.PowerOK)
		if err := r.p.Inject(simhw.Fault{Kind: simhw.HostPowerGoodNeverRises, Target: "0"}); err != nil {
			t.Fatal(err)
		}
		r.press(power, 200*time.Millisecond)
		r.advance(10 * time.Second)
		if r.p.HostPowered("0") || len(r.takeEdges()) != 0 {
			t.Error("power good rose despite the fault")
		}
		if err := r.p.Clear(simhw.HostPowerGoodNeverRises, "0"); err != nil {
			t.Fatal(err)
		}
		r.hostOn(power)
	})
	t.Run("power good drops while on", func(t *testing.T) {
		r := newRig(t, simhw.Config{})
		r.chassisOn()
		l := lines("0")
		power := r.output(l.PowerOut)
		r.watch(l.PowerOK)
		r.hostOn(power)
		r.takeEdges()
		if err := r.p.Inject(simhw.Fault{Kind: simhw.HostPowerGoodDrops, Target: "0", After: time.Second}); err != nil {
			t.Fatal(err)
		}
		r.advance(999 * time.Millisecond)
		if !r.p.HostPowered("0") {
			t.Fatal("dropped early")
		}
		r.advance(time.Millisecond)
		if got := r.takeEdges(); len(got) != 1 || got[0] != "PS_PWROK=0@3.2s" {
			t.Errorf("edges %v, want PS_PWROK=0@3.2s", got)
		}
		// Every power-on drops again while the fault is on.
		r.press(power, 200*time.Millisecond)
		r.advance(500 * time.Millisecond)
		if !r.p.HostPowered("0") {
			t.Fatal("did not power on again")
		}
		r.advance(time.Second)
		if r.p.HostPowered("0") {
			t.Error("did not drop again")
		}
		if err := r.p.Clear(simhw.HostPowerGoodDrops, "0"); err != nil {
			t.Fatal(err)
		}
		r.hostOn(power)
		r.advance(time.Minute)
		if !r.p.HostPowered("0") {
			t.Error("dropped after the fault was cleared")
		}
	})
	t.Run("OS ignores shutdown", func(t *testing.T) {
		r := newRig(t, simhw.Config{})
		r.chassisOn()
		power := r.output(lines("0").PowerOut)
		r.hostOn(power)
		if err := r.p.Inject(simhw.Fault{Kind: simhw.HostIgnoresShutdown, Target: "0"}); err != nil {
			t.Fatal(err)
		}
		r.press(power, 200*time.Millisecond)
		r.advance(time.Minute)
		if s := r.host("0"); s.Power != simhw.PowerOn || s.IgnoredShutdowns != 1 {
			t.Errorf("%+v, want still on with one ignored shutdown", s)
		}
		r.press(power, 4*time.Second)
		if r.p.HostPowered("0") {
			t.Error("a hold must still force the host off")
		}
	})
	t.Run("button stuck deasserted", func(t *testing.T) {
		r := newRig(t, simhw.Config{})
		r.chassisOn()
		power := r.output(lines("0").PowerOut)
		if err := r.p.Inject(simhw.Fault{Kind: simhw.ButtonStuckDeasserted, Target: "0"}); err != nil {
			t.Fatal(err)
		}
		r.press(power, 200*time.Millisecond)
		if err := r.p.PressPowerButton("0", 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		r.advance(5 * time.Second)
		if r.p.HostPowered("0") {
			t.Error("a stuck-released button powered the host")
		}
	})
	t.Run("button stuck asserted", func(t *testing.T) {
		r := newRig(t, simhw.Config{})
		r.chassisOn()
		l := lines("0")
		power := r.output(l.PowerOut)
		button := r.watch(l.PowerButton)
		r.hostOn(power)
		r.takeEdges()
		if err := r.p.Inject(simhw.Fault{Kind: simhw.ButtonStuckAsserted, Target: "0"}); err != nil {
			t.Fatal(err)
		}
		if !r.read(button) {
			t.Error("POWER_BUTTON does not read asserted")
		}
		r.advance(4 * time.Second)
		if r.p.HostPowered("0") {
			t.Error("a button stuck pressed is a hold: the host should be forced off")
		}
		r.press(power, 200*time.Millisecond)
		r.advance(5 * time.Second)
		if r.p.HostPowered("0") {
			t.Error("a pulse on a stuck button had an effect")
		}
		if got := r.takeEdges(); len(got) != 1 || got[0] != "POWER_BUTTON=1@2.2s" {
			t.Errorf("edges %v, want only POWER_BUTTON=1@2.2s", got)
		}
		if err := r.p.Clear(simhw.ButtonStuckAsserted, "0"); err != nil {
			t.Fatal(err)
		}
		r.hostOn(power)
	})
}

func TestPolarityMismatchInverts(t *testing.T) {
	r := newRig(t, simhw.Config{})
	cfg := lines("0").PowerOut
	cfg.Polarity = adapters.ActiveHigh // the board has it active-low
	o := r.output(cfg)
	if !r.host("0").ButtonAsserted {
		t.Error("requesting an active-low line as active-high must press the button")
	}
	r.set(o, true)
	if r.host("0").ButtonAsserted {
		t.Error("asserting in the wrong polarity must release the button")
	}
}
