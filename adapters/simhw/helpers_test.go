package simhw_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/simhw"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// rig is a platform on a virtual clock with one GPIO handle whose watched
// inputs record their edges.
type rig struct {
	t    *testing.T
	ctx  context.Context
	clk  *clock.Virtual
	p    *simhw.Platform
	gpio adapters.GPIO

	mu    sync.Mutex
	edges []string
}

func newRig(t *testing.T, cfg simhw.Config) *rig {
	t.Helper()
	clk := clock.NewVirtual(t0)
	p, err := simhw.New(clk, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r := &rig{t: t, ctx: context.Background(), clk: clk, p: p, gpio: p.GPIO()}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func lines(host string) simhw.HostLines { return simhw.DefaultHostLines(host) }

// advance moves the clock and waits for the edges to be delivered.
func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	r.clk.Advance(d)
	r.settle()
}

func (r *rig) settle() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	if err := r.p.Settle(ctx); err != nil {
		r.t.Fatalf("Settle: %v", err)
	}
}

func (r *rig) output(cfg adapters.LineConfig) adapters.OutputLine {
	r.t.Helper()
	o, err := r.gpio.Output(cfg)
	if err != nil {
		r.t.Fatalf("Output(%s): %v", cfg.Name, err)
	}
	return o
}

// watch requests an input whose edges go to r.edges as "NAME=0|1@offset".
func (r *rig) watch(cfg adapters.LineConfig) adapters.InputLine {
	r.t.Helper()
	in, err := r.gpio.Input(cfg, func(e adapters.Edge) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.edges = append(r.edges, fmtEdge(e))
	})
	if err != nil {
		r.t.Fatalf("Input(%s): %v", cfg.Name, err)
	}
	return in
}

func fmtEdge(e adapters.Edge) string {
	v := 0
	if e.Asserted {
		v = 1
	}
	return fmt.Sprintf("%s=%d@%v", e.Line, v, e.Time.Sub(t0))
}

// takeEdges returns and forgets the edges recorded so far.
func (r *rig) takeEdges() []string {
	r.settle()
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.edges
	r.edges = nil
	return e
}

func (r *rig) set(o adapters.OutputLine, v bool) {
	r.t.Helper()
	if err := o.Set(r.ctx, v); err != nil {
		r.t.Fatalf("Set: %v", err)
	}
}

// press asserts o for d of virtual time, then releases it.
func (r *rig) press(o adapters.OutputLine, d time.Duration) {
	r.t.Helper()
	r.set(o, true)
	r.advance(d)
	r.set(o, false)
}

func (r *rig) read(in interface {
	Read(context.Context) (bool, error)
}) bool {
	r.t.Helper()
	v, err := in.Read(r.ctx)
	if err != nil {
		r.t.Fatalf("Read: %v", err)
	}
	return v
}

func (r *rig) pmbus(name string) adapters.PMBus {
	r.t.Helper()
	d, err := r.p.PMBus(name)
	if err != nil {
		r.t.Fatalf("PMBus(%s): %v", name, err)
	}
	return d
}

func (r *rig) word(d adapters.PMBus, cmd byte) uint16 {
	r.t.Helper()
	w, err := d.ReadWord(r.ctx, cmd)
	if err != nil {
		r.t.Fatalf("ReadWord(0x%02x): %v", cmd, err)
	}
	return w
}

func (r *rig) byteOf(d adapters.PMBus, cmd byte) byte {
	r.t.Helper()
	b, err := d.ReadByteData(r.ctx, cmd)
	if err != nil {
		r.t.Fatalf("ReadByteData(0x%02x): %v", cmd, err)
	}
	return b
}

func (r *rig) writeByte(d adapters.PMBus, cmd, v byte) {
	r.t.Helper()
	if err := d.WriteByteData(r.ctx, cmd, v); err != nil {
		r.t.Fatalf("WriteByteData(0x%02x, 0x%02x): %v", cmd, v, err)
	}
}

func (r *rig) clearFaults(d adapters.PMBus) {
	r.t.Helper()
	if err := d.SendByte(r.ctx, adapters.CmdClearFaults); err != nil {
		r.t.Fatalf("CLEAR_FAULTS: %v", err)
	}
}

// chassisOn turns every PSU on and waits for chassis power good.
func (r *rig) chassisOn() {
	r.t.Helper()
	for _, c := range r.p.Config().PSUs {
		r.writeByte(r.pmbus(c.Name), adapters.CmdOperation, adapters.OperationOn)
	}
	r.advance(time.Second)
	if !r.p.ChassisPowerGood() {
		r.t.Fatal("chassis power not good after turning the PSUs on")
	}
}

// hostOn powers host 0 with a 200 ms POWER_OUT pulse and boots it.
func (r *rig) hostOn(powerOut adapters.OutputLine) {
	r.t.Helper()
	r.press(powerOut, 200*time.Millisecond)
	r.advance(time.Second)
	if !r.p.HostPowered("0") {
		r.t.Fatal("host 0 did not power on")
	}
}

func (r *rig) host(id string) simhw.HostState {
	r.t.Helper()
	s, err := r.p.Host(id)
	if err != nil {
		r.t.Fatalf("Host(%s): %v", id, err)
	}
	return s
}

func (r *rig) psuState(name string) simhw.PSUState {
	r.t.Helper()
	s, err := r.p.PSU(name)
	if err != nil {
		r.t.Fatalf("PSU(%s): %v", name, err)
	}
	return s
}

func (r *rig) temp(zone string) float64 {
	r.t.Helper()
	v, err := r.p.Temperature(zone)
	if err != nil {
		r.t.Fatalf("Temperature(%s): %v", zone, err)
	}
	return v
}

// waitPending spins (without sleeping) until the virtual clock has n
// pending timers, so that a goroutine blocked on it can be released.
func waitPending(t *testing.T, clk *clock.Virtual, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for clk.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("clock has %d pending timers, want %d", clk.Pending(), n)
		}
		runtime.Gosched()
	}
}

// waitFor spins (without sleeping) until cond holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		runtime.Gosched()
	}
}

// Spec decoders (PMBus Part II, Linux pmbus_reg2data_linear).
func linear11(raw uint16) float64 {
	exp := int(int16(raw) >> 11)
	mant := int(int16((raw&0x7ff)<<5) >> 5)
	return math.Ldexp(float64(mant), exp)
}

func linear16(raw uint16, mode byte) float64 {
	return math.Ldexp(float64(raw), int(int8(mode<<3)>>3))
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var errCanceled = context.Canceled

func contextCanceled(r *rig) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.ctx)
	cancel()
	return ctx, cancel
}
