package coordinator_test

import (
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/simhw"
)

// BenchmarkHostPowerOnSagaOverhead measures a host power-on saga against
// the sum of its simulated hardware delays (the button pulse the host must
// see, then the host's power-on delay to power good). It reports the
// virtual time the saga took, that sum, the difference (the coordinator's
// overhead in virtual time: polling granularity and bookkeeping), and the
// wall-clock cost of one saga (ns/op: logging, actors, hardware model).
func BenchmarkHostPowerOnSagaOverhead(b *testing.B) {
	r := newRig(b, func(r *rig) { r.cfg.Timeouts.Poll = 10 * time.Millisecond })
	r.must(chassisOn())
	hw := r.cfg.Topology.Buttons.PowerPulse
	if hw == 0 {
		hw = 200 * time.Millisecond
	}
	hw += simhw.DefaultConfig().Hosts[0].PowerOnDelay
	var virtual time.Duration
	b.ResetTimer()
	for range b.N {
		start := r.clk.Now()
		r.must(hostOn(host0))
		virtual += r.clk.Now().Sub(start)
		b.StopTimer()
		r.must(coordinator.Request{Kind: coordinator.HostForceOff, Target: host0})
		b.StartTimer()
	}
	b.StopTimer()
	per := virtual / time.Duration(b.N)
	b.ReportMetric(float64(per.Milliseconds()), "virtual-ms/op")
	b.ReportMetric(float64(hw.Milliseconds()), "hardware-ms/op")
	b.ReportMetric(float64((per - hw).Milliseconds()), "overhead-virtual-ms/op")
}
