package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
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
	problems, err := testutil.GatherAndLint(m.registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}
