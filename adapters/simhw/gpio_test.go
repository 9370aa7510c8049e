package simhw_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/simhw"
)

func TestLineRequests(t *testing.T) {
	r := newRig(t, simhw.Config{})
	l := lines("0")
	var de *adapters.DeviceError

	_, err := r.gpio.Output(adapters.LineConfig{Name: "NO_SUCH_LINE"})
	if !errors.Is(err, adapters.ErrNoLine) || !errors.As(err, &de) || de.Device != "NO_SUCH_LINE" {
		t.Errorf("unknown line: err %v, want ErrNoLine", err)
	}
	if _, err := r.gpio.Output(l.PowerOK); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("input as output: err %v, want ErrUnsupported", err)
	}
	if _, err := r.gpio.Input(l.PowerOut, nil); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("output as input: err %v, want ErrUnsupported", err)
	}
	if _, err := r.gpio.Output(adapters.LineConfig{Name: l.PowerOut.Name, Polarity: "sideways"}); !errors.Is(err, simhw.ErrInvalidArgument) {
		t.Errorf("bad polarity: err %v, want ErrInvalidArgument", err)
	}

	o := r.output(l.PowerOut)
	other := r.p.GPIO()
	defer other.Close()
	if _, err := other.Output(l.PowerOut); !errors.Is(err, adapters.ErrLineBusy) {
		t.Errorf("second consumer: err %v, want ErrLineBusy", err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Set(r.ctx, true); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("Set after Close: err %v, want ErrClosed", err)
	}
	o2, err := other.Output(l.PowerOut)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := o2.Read(r.ctx); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("line of a closed GPIO: err %v, want ErrClosed", err)
	}
	if _, err := other.Input(l.PowerOK, nil); !errors.Is(err, adapters.ErrClosed) {
		t.Errorf("request on a closed GPIO: err %v, want ErrClosed", err)
	}
}

func TestLineHeldByAnotherProcess(t *testing.T) {
	r := newRig(t, simhw.Config{})
	l := lines("1")
	if err := r.p.Inject(simhw.Fault{Kind: simhw.LineHeld, Target: l.PowerOK.Name}); err != nil {
		t.Fatal(err)
	}
	_, err := r.gpio.Input(l.PowerOK, nil)
	var de *adapters.DeviceError
	if !errors.Is(err, adapters.ErrLineBusy) || !errors.As(err, &de) || de.Op != "request line" {
		t.Fatalf("held line: err %v, want ErrLineBusy", err)
	}
	if f := r.p.Faults(); len(f) != 1 || f[0].Kind != simhw.LineHeld || f[0].Target != "PS_PWROK_1" {
		t.Errorf("Faults() = %+v", f)
	}
	if err := r.p.Clear(simhw.LineHeld, l.PowerOK.Name); err != nil {
		t.Fatal(err)
	}
	in, err := r.gpio.Input(l.PowerOK, nil)
	if err != nil {
		t.Fatalf("after clear: %v", err)
	}
	if r.read(in) {
		t.Error("PS_PWROK_1 asserted with host 1 off")
	}
}

func TestOutputReadBack(t *testing.T) {
	r := newRig(t, simhw.Config{})
	o := r.output(lines("0").NMIOut)
	if r.read(o) {
		t.Error("output not initially deasserted")
	}
	r.set(o, true)
	if !r.read(o) {
		t.Error("Read does not return the level driven")
	}
}

// A callback may call back into the platform (read lines, drive outputs,
// query ground truth) without deadlocking.
func TestCallbackMayReenter(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	power := r.output(l.PowerOut)
	var post adapters.InputLine
	var mu sync.Mutex
	var seen []string
	_, err := r.gpio.Input(l.PowerOK, func(e adapters.Edge) {
		v, err := post.Read(r.ctx)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmtEdge(e))
		if err != nil || v {
			seen = append(seen, "bad post read")
		}
		if e.Asserted != r.p.HostPowered("0") {
			seen = append(seen, "ground truth disagrees")
		}
		// Drive an output from the callback (already deasserted: no effect).
		if err := power.Set(r.ctx, false); err != nil {
			seen = append(seen, err.Error())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	post, err = r.gpio.Input(l.PostComplete, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.press(power, 200*time.Millisecond)
	r.advance(time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "PS_PWROK=1@1.7s" {
		t.Errorf("callback saw %v", seen)
	}
}

func TestInputCloseStopsEdges(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	in := r.watch(l.PowerButton)
	if err := r.p.PressPowerButton("0", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.settle()
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Second)
	if got := r.takeEdges(); len(got) != 1 || got[0] != "POWER_BUTTON=1@1s" {
		t.Errorf("edges %v, want only the press before Close", got)
	}
}

// Settle also waits for edges that a callback on one handle causes on
// another.
func TestSettleFollowsCascades(t *testing.T) {
	r := newRig(t, simhw.Config{})
	r.chassisOn()
	l := lines("0")
	r.hostOn(r.output(l.PowerOut))
	r.advance(30 * time.Second)
	r.watch(l.PostComplete)
	r.takeEdges()
	bmc := r.p.GPIO() // a second consumer: the front-panel button resets the host
	defer bmc.Close()
	reset, err := bmc.Output(l.ResetOut)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bmc.Input(l.PowerButton, func(e adapters.Edge) {
		if err := reset.Set(r.ctx, e.Asserted); err != nil {
			t.Error(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.p.PressPowerButton("0", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.settle()
	r.mu.Lock()
	got := append([]string(nil), r.edges...)
	r.mu.Unlock()
	if len(got) != 1 || got[0] != "POST_COMPLETE=0@32.2s" {
		t.Errorf("edges after one Settle: %v, want POST_COMPLETE=0@32.2s", got)
	}
}
