package main

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/server/inputs"
)

// inputCollector reads the external inputs' store at each scrape: whether
// each input is stale, when it last reported and its level. One series per
// declared input (and level): the platform file bounds them.
type inputCollector struct{ store *inputs.Store }

var (
	inputLabels   = []string{"kind", "name"}
	inputStale    = prometheus.NewDesc("statemgr_input_stale", "1 while an external input is unknown: no report within its stale_after, or none since statemgrd started.", inputLabels, nil)
	inputReported = prometheus.NewDesc("statemgr_input_last_report_timestamp_seconds", "Unix time of an external input's last report (absent before its first).", inputLabels, nil)
	inputLevel    = prometheus.NewDesc("statemgr_input_level", "1 for the level a known external input reports (absent while unknown).", append(inputLabels, "level"), nil)
)

func (inputCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inputStale
	ch <- inputReported
	ch <- inputLevel
}

func (c inputCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.store.Readings() {
		kind, name := string(r.Kind), r.Name
		stale := 1.0
		if r.Known {
			stale = 0
			ch <- prometheus.MustNewConstMetric(inputLevel, prometheus.GaugeValue, 1, kind, name, r.Level)
		}
		ch <- prometheus.MustNewConstMetric(inputStale, prometheus.GaugeValue, stale, kind, name)
		if !r.LastReport.IsZero() {
			ch <- prometheus.MustNewConstMetric(inputReported, prometheus.GaugeValue, unixSeconds(r.LastReport), kind, name)
		}
	}
}

// psuReader is what the PSU collector reads: *devices.Hardware.
type psuReader interface {
	PSUNames() []string
	PSUReadings(ctx context.Context, psu string) (devices.PSUReadings, error)
}

// psuScrapeMinAge is how old the PSU readings a scrape shows may be: the
// bus is read at most once per this period however many clients scrape
// (a PSU that does not answer costs its retries on every read).
const psuScrapeMinAge = 5 * time.Second

// psuScrapeTimeout bounds one read of every PSU.
const psuScrapeTimeout = 10 * time.Second

// psuCollector shows the PSUs' readings and status registers. Reads are
// one at a time (a scrape waits for one in progress and shows its
// result) and cached for psuScrapeMinAge.
type psuCollector struct {
	psus psuReader
	clk  clock.Clock

	mu     sync.Mutex
	readAt time.Time
	cached []devices.PSUReadings
}

var (
	psuLabels = []string{"psu", "chassis"}
	// psuValues names the series of each reading the devices take
	// (devices.ReadQuantities), in Prometheus' base units.
	psuValues = map[adapters.Quantity]*prometheus.Desc{
		adapters.QuantityVin:         prometheus.NewDesc("statemgr_psu_input_volts", "A PSU's input voltage (READ_VIN).", psuLabels, nil),
		adapters.QuantityVout:        prometheus.NewDesc("statemgr_psu_output_volts", "A PSU's output voltage (READ_VOUT).", psuLabels, nil),
		adapters.QuantityIout:        prometheus.NewDesc("statemgr_psu_output_amperes", "A PSU's output current (READ_IOUT).", psuLabels, nil),
		adapters.QuantityTemperature: prometheus.NewDesc("statemgr_psu_temperature_celsius", "A PSU's temperature (READ_TEMPERATURE_1).", psuLabels, nil),
	}
	psuReadFailed = prometheus.NewDesc("statemgr_psu_read_failed", "1 when the last read of a PSU's reading (vin, vout, iout, temperature, status) failed.", append(psuLabels, "reading"), nil)
	psuReadTime   = prometheus.NewDesc("statemgr_psu_read_timestamp_seconds", "Unix time the PSU readings shown were read.", psuLabels, nil)
	psuStatusWord = prometheus.NewDesc("statemgr_psu_status_word", "A PSU's STATUS_WORD as read.", psuLabels, nil)
	psuPowerGood  = prometheus.NewDesc("statemgr_psu_power_good", "1 when a PSU's STATUS_WORD says its output is good.", psuLabels, nil)
	psuStatusFlag = prometheus.NewDesc("statemgr_psu_status_flag", "1 for each status bit set (REGISTER.FLAG, e.g. WORD.POWER_GOOD#, VOUT.UV_FAULT); absent while clear.", append(psuLabels, "flag"), nil)
)

// psuStatusReading is the reading label of the status registers.
const psuStatusReading = "status"

func (*psuCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range psuValues {
		ch <- d
	}
	for _, d := range []*prometheus.Desc{psuReadFailed, psuReadTime, psuStatusWord, psuPowerGood, psuStatusFlag} {
		ch <- d
	}
}

// read returns the PSUs' readings, read now unless the last read is
// younger than psuScrapeMinAge.
func (c *psuCollector) read() []devices.PSUReadings {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clk.Now()
	if c.cached != nil && now.Sub(c.readAt) < psuScrapeMinAge {
		return c.cached
	}
	ctx, cancel := context.WithTimeout(context.Background(), psuScrapeTimeout)
	defer cancel()
	names := c.psus.PSUNames()
	out := make([]devices.PSUReadings, 0, len(names))
	for _, name := range names {
		// An error is a PSU the devices do not know: never one listed.
		if r, err := c.psus.PSUReadings(ctx, name); err == nil {
			out = append(out, r)
		}
	}
	c.cached, c.readAt = out, now
	return out
}

func (c *psuCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	failed := func(err error) float64 {
		if err != nil {
			return 1
		}
		return 0
	}
	for _, r := range c.read() {
		psu, chassis := r.PSU, actors.KindChassis+"."+r.Chassis
		gauge(psuReadTime, unixSeconds(r.StatusTime), psu, chassis)
		for _, rd := range r.Readings {
			gauge(psuReadFailed, failed(rd.Err), psu, chassis, string(rd.Quantity))
			if d, ok := psuValues[rd.Quantity]; ok && rd.Err == nil {
				gauge(d, rd.Value, psu, chassis)
			}
		}
		gauge(psuReadFailed, failed(r.StatusErr), psu, chassis, psuStatusReading)
		if r.StatusErr != nil {
			continue
		}
		gauge(psuStatusWord, float64(r.Status.Word), psu, chassis)
		good := 0.0
		if r.Status.PowerGood() {
			good = 1
		}
		gauge(psuPowerGood, good, psu, chassis)
		for _, f := range r.Status.Flags() {
			gauge(psuStatusFlag, 1, psu, chassis, f)
		}
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
