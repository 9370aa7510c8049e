package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/pmbus"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/inputs"
)

// TestMetricsPassPromlint lints every series the daemon exposes, its own
// and the Go and process collectors', with the rules promtool check
// metrics applies.
func TestMetricsPassPromlint(t *testing.T) {
	m := newMetrics()
	m.state.WithLabelValues("host.0", "Off").Set(1)
	m.transitions.WithLabelValues("host.0", "Running").Inc()
	m.operations.WithLabelValues("host_power_on", "succeeded").Inc()
	m.appendTime.Observe(0.001)
	m.observeChange(protoactor.Change{ID: "host.0", Alerts: []machine.AlertKind{machine.AlertStuckInError}})
	m.stays.WithLabelValues("host.0", "Off").Observe(3)
	p, err := platform.Parse("inputs.hcl", append(platform.DefaultSource(), []byte(`
input "thermal" "cpu" {
  warning  = 70
  critical = 90
}
`)...))
	if err != nil {
		t.Fatal(err)
	}
	store := inputs.New(p, clock.NewVirtual(time.Unix(1e9, 0)), nil)
	if _, err := store.ReportThermal("cpu", inputs.Thermal{Level: "normal"}, "thermalmgr"); err != nil {
		t.Fatal(err)
	}
	m.registry.MustRegister(inputCollector{store}, &psuCollector{psus: &psuTwin{}, clk: clock.NewVirtual(time.Unix(1e9, 0))})
	problems, err := testutil.GatherAndLint(m.registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// The standing-alert gauge follows the components' changes: a kind set
// while it stands, back to 0 once it clears, another component's apart.
func TestStandingAlertsGauge(t *testing.T) {
	m := newMetrics()
	gauge := func(id, kind string) float64 { return testutil.ToFloat64(m.standing.WithLabelValues(id, kind)) }
	m.observeChange(protoactor.Change{ID: "host.0", Alerts: []machine.AlertKind{machine.AlertStuckInError, machine.AlertThrashing}})
	m.observeChange(protoactor.Change{ID: "service.demo", Alerts: []machine.AlertKind{machine.AlertSlowState}})
	if gauge("host.0", "stuck_in_error") != 1 || gauge("host.0", "thrashing") != 1 || gauge("service.demo", "slow_state") != 1 {
		t.Fatalf("standing alerts not shown:\n%s", gather(t, m.registry, "statemgr_alerts_standing"))
	}
	m.observeChange(protoactor.Change{ID: "host.0", Alerts: []machine.AlertKind{machine.AlertThrashing}})
	if gauge("host.0", "stuck_in_error") != 0 || gauge("host.0", "thrashing") != 1 || gauge("service.demo", "slow_state") != 1 {
		t.Fatalf("a cleared alert still shown:\n%s", gather(t, m.registry, "statemgr_alerts_standing"))
	}
	m.observeChange(protoactor.Change{ID: "host.0"})
	if gauge("host.0", "thrashing") != 0 {
		t.Fatalf("host.0 with no alert:\n%s", gather(t, m.registry, "statemgr_alerts_standing"))
	}
	if n := testutil.CollectAndCount(m.standing); n != 3 {
		t.Fatalf("%d standing-alert series, want 3 (one per component and kind seen)", n)
	}
}

// psuTwin is a PSU reader whose answers the test sets; it counts reads.
type psuTwin struct {
	reads   int
	vin     float64
	ioutErr error
	status  pmbus.Status
}

func (p *psuTwin) PSUNames() []string { return []string{"psu0"} }

func (p *psuTwin) PSUReadings(_ context.Context, psu string) (devices.PSUReadings, error) {
	if psu != "psu0" {
		return devices.PSUReadings{}, fmt.Errorf("no psu %q", psu)
	}
	p.reads++
	r := devices.PSUReadings{PSU: psu, Chassis: "0", Status: p.status, StatusTime: time.Unix(1e9, 0)}
	for _, q := range devices.ReadQuantities {
		m := pmbus.Measurement{Quantity: q, Unit: q.Unit(), Value: 1}
		switch q {
		case adapters.QuantityVin:
			m.Value = p.vin
		case adapters.QuantityIout:
			m.Err = p.ioutErr
		}
		r.Readings = append(r.Readings, devices.Reading{Measurement: m, Time: time.Unix(1e9, 0)})
	}
	return r, nil
}

// The PSU series show the readings and the set status bits; a failed
// reading is flagged and shows no value; scrapes within psuScrapeMinAge
// read the bus once.
func TestPSUMetricsReadTheBusOncePerPeriod(t *testing.T) {
	twin := &psuTwin{vin: 12.1, ioutErr: errors.New("i2c timeout"), status: pmbus.Status{Word: pmbus.StatusWord(1<<11 | 1<<5)}}
	vclk := clock.NewVirtual(time.Unix(1e9, 0))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&psuCollector{psus: twin, clk: vclk})
	text := gather(t, reg, "statemgr_psu_")
	for _, want := range []string{
		`statemgr_psu_input_volts{chassis="chassis.0",psu="psu0"} 12.1`,
		`statemgr_psu_read_failed{chassis="chassis.0",psu="psu0",reading="iout"} 1`,
		`statemgr_psu_read_failed{chassis="chassis.0",psu="psu0",reading="vin"} 0`,
		`statemgr_psu_read_failed{chassis="chassis.0",psu="psu0",reading="status"} 0`,
		`statemgr_psu_status_word{chassis="chassis.0",psu="psu0"} 2080`,
		`statemgr_psu_power_good{chassis="chassis.0",psu="psu0"} 0`,
		`statemgr_psu_status_flag{chassis="chassis.0",flag="WORD.POWER_GOOD#",psu="psu0"} 1`,
		`statemgr_psu_status_flag{chassis="chassis.0",flag="WORD.VOUT_OV_FAULT",psu="psu0"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	if strings.Contains(text, "statemgr_psu_output_amperes") {
		t.Errorf("a failed IOUT read shows a value:\n%s", text)
	}
	twin.vin = 11
	gather(t, reg, "statemgr_psu_")
	if twin.reads != 1 {
		t.Fatalf("two scrapes within %v read the PSU %d times", psuScrapeMinAge, twin.reads)
	}
	vclk.Advance(psuScrapeMinAge)
	if text := gather(t, reg, "statemgr_psu_input_volts"); !strings.Contains(text, "} 11\n") || twin.reads != 2 {
		t.Fatalf("after %v, %d reads:\n%s", psuScrapeMinAge, twin.reads, text)
	}
}

// gather renders the registry's series whose names start with prefix.
func gather(t *testing.T, reg prometheus.Gatherer, prefix string) string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), prefix) {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			fmt.Fprintf(&b, "%s{%s} %g\n", f.GetName(), strings.Join(labels, ","), v)
		}
	}
	return b.String()
}

// TestMetricsThroughTheDaemon scrapes the real /metrics of a daemon on the
// simulated platform with an external input, fed over the real embedded
// NATS: the input is stale until a thermal manager reports, then known
// with its level and report time; a host's power-on completes its stay in
// Off (time in state) and is counted by outcome; the PSUs show readings
// and status bits.
func TestMetricsThroughTheDaemon(t *testing.T) {
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	plat := filepath.Join(dir, "platform.hcl")
	src := append(platform.DefaultSource(), []byte("\ninput \"thermal\" \"cpu\" {\n  warning = 70\n  critical = 90\n  stale_after = \"1m\"\n}\n")...)
	if err := os.WriteFile(plat, src, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-platform", plat, "-data-dir", dir, "-http-listen", httpAddr, "-nats-listen", natsAddr}
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(args, &stderr, &stderr) }()
	defer stopWithSIGTERM(t, code, &stderr)
	url := "http://" + httpAddr + "/metrics"
	waitReady(t, "http://"+httpAddr+"/readyz")
	waitMetric(t, url, `statemgr_input_stale{kind="thermal",name="cpu"} 1`)
	waitMetric(t, url, `statemgr_psu_power_good{chassis="chassis.0",psu="psu0"}`)
	waitMetric(t, url, `statemgr_psu_input_volts{chassis="chassis.0",psu="psu0"}`)
	waitMetric(t, url, `statemgr_psu_read_failed{chassis="chassis.0",psu="psu1",reading="status"} 0`)

	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cl := client.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var reply server.InputReply
	if err := cl.Request(ctx, "statemgr.input.thermal.cpu", map[string]any{"celsius": 41.0}, &reply); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, url, `statemgr_input_stale{kind="thermal",name="cpu"} 0`)
	waitMetric(t, url, `statemgr_input_level{kind="thermal",level="normal",name="cpu"} 1`)
	waitMetric(t, url, `statemgr_input_last_report_timestamp_seconds{kind="thermal",name="cpu"}`)

	var on server.ControlReply
	if err := cl.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", PowerChassis: true, Wait: "20s"}, &on); err != nil {
		t.Fatal(err)
	}
	if on.Outcome == nil || on.Outcome.Result != server.ResultSucceeded {
		t.Fatalf("power on: %+v %+v", on, on.Outcome)
	}
	waitMetric(t, url, `statemgr_operations_total{kind="host_power_on",outcome="succeeded"} 1`)
	waitMetric(t, url, `statemgr_component_time_in_state_seconds_count{component="host.0",state="Off"} 1`)
	waitMetric(t, url, `statemgr_component_time_in_state_seconds_count{component="chassis.0",state="Off"} 1`)
}
