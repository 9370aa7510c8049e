package main

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/events"
)

// metrics are the daemon's Prometheus series. Labels stay bounded: a
// component id, a state name, an alert kind, never an event or operation id.
type metrics struct {
	registry    *prometheus.Registry
	state       *prometheus.GaugeVec
	since       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	errors      *prometheus.CounterVec
	alerts      *prometheus.CounterVec
	head        prometheus.Gauge
	appendTime  prometheus.Histogram
	appendFails prometheus.Counter
	requestTime *prometheus.HistogramVec
	operations  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "statemgr_component_state",
			Help: "1 for the state each component is in, 0 for states it left."}, []string{"component", "state"}),
		since: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "statemgr_component_state_since_seconds",
			Help: "Unix time the component entered its current state; time() minus it is the time in state."}, []string{"component"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "statemgr_transitions_total",
			Help: "State changes by component and target state."}, []string{"component", "to"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "statemgr_component_errors_total",
			Help: "Entries of components into an error state."}, []string{"component"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "statemgr_alerts_total",
			Help: "Alerts raised, by component and kind."}, []string{"component", "kind"}),
		head: prometheus.NewGauge(prometheus.GaugeOpts{Name: "statemgr_event_log_head",
			Help: "Global sequence of the last durable event."}),
		appendTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "statemgr_event_append_seconds",
			Help: "Latency of durable appends to the event log.", Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14)}),
		appendFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "statemgr_event_append_failures_total",
			Help: "Appends that failed (not acknowledged)."}),
		requestTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "statemgr_component_request_seconds",
			Help:    "Latency of requests and observations through component actors, durable append included.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}, []string{"kind"}),
	}
	m.operations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "statemgr_operations_total",
		Help: "Power operations ended, by kind and outcome (rejected included)."}, []string{"kind", "outcome"})
	m.registry.MustRegister(m.state, m.since, m.transitions, m.errors, m.alerts, m.head, m.appendTime, m.appendFails,
		m.requestTime, m.operations, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// instrumentedLog times appends for the metrics.
type instrumentedLog struct {
	events.Log
	m *metrics
}

func (l instrumentedLog) Append(ctx context.Context, stream string, exp events.Expected, batch []events.Event) ([]events.Event, bool, error) {
	start := time.Now()
	stored, dup, err := l.Log.Append(ctx, stream, exp, batch)
	l.m.appendTime.Observe(time.Since(start).Seconds())
	if err != nil {
		l.m.appendFails.Inc()
	}
	return stored, dup, err
}

// seed sets the state gauges from the components' recovered views.
func (m *metrics) seed(views map[actors.ID]machine.Status) {
	for id, st := range views {
		m.state.WithLabelValues(string(id), st.State).Set(1)
		m.since.WithLabelValues(string(id)).Set(float64(st.Since.UnixNano()) / 1e9)
	}
}

// countOperation counts a coordinator record that ends an operation.
func (m *metrics) countOperation(e events.Event) {
	if e.Type != coordinator.RecOpFinished && e.Type != coordinator.RecOpRejected {
		return
	}
	r, err := coordinator.DecodeRecord(e)
	switch {
	case err != nil:
	case r.Result != nil:
		m.operations.WithLabelValues(string(r.Result.Kind), string(r.Result.Outcome)).Inc()
	case r.Request != nil:
		m.operations.WithLabelValues(string(r.Request.Kind), "rejected").Inc()
	}
}

// follow updates the series from the durable log until ctx ends: what the
// metrics show has been logged.
func (m *metrics) follow(ctx context.Context, log events.Log, from uint64, errorStates map[actors.ID]map[string]bool, logger hclog.Logger) {
	sub, err := log.Subscribe(ctx, from)
	if err != nil {
		logger.Error("metrics cannot follow the event log", "error", err)
		return
	}
	defer sub.Close()
	for e := range sub.C {
		m.head.Set(float64(e.GlobalSeq))
		if e.Stream == coordinator.Stream {
			m.countOperation(e)
			continue
		}
		id, err := actors.ParseID(e.Stream)
		if err != nil {
			continue // not a component stream (a saga, for instance)
		}
		r, err := actors.DecodeRecord(e)
		if err != nil {
			logger.Warn("metrics skip an undecodable record", "stream", e.Stream, "seq", e.StreamSeq, "error", err)
			continue
		}
		switch r.Event.Type {
		case machine.EventTransition:
			if r.Event.From == r.Event.To {
				continue
			}
			m.state.WithLabelValues(string(id), r.Event.From).Set(0)
			m.state.WithLabelValues(string(id), r.Event.To).Set(1)
			m.since.WithLabelValues(string(id)).Set(float64(r.Status.Since.UnixNano()) / 1e9)
			m.transitions.WithLabelValues(string(id), r.Event.To).Inc()
			if errorStates[id][r.Event.To] {
				m.errors.WithLabelValues(string(id)).Inc()
			}
		case machine.EventAlert:
			m.alerts.WithLabelValues(string(id), string(r.Event.Alert)).Inc()
		}
	}
	if err := sub.Err(); err != nil && ctx.Err() == nil {
		logger.Error("metrics stopped following the event log", "error", err)
	}
}
