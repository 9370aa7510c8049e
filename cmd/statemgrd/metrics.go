package main

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
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
	standing    *prometheus.GaugeVec
	stays       *prometheus.HistogramVec

	standingMu sync.Mutex
	// standingKinds are the alert kinds each component's gauge was last
	// set non-zero for, so that a cleared kind is set back to 0.
	standingKinds map[actors.ID][]machine.AlertKind
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
	m.standing = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "statemgr_alerts_standing",
		Help: "Alerts standing now, by component and kind (transition, stuck_in_error, slow_state, thrashing)."}, []string{"component", "kind"})
	// From a quarter second (a pulse) to 18 hours (a host's uptime).
	m.stays = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "statemgr_component_time_in_state_seconds",
		Help:    "Completed stays in a state, by component and the state left.",
		Buckets: prometheus.ExponentialBuckets(0.25, 4, 10)}, []string{"component", "state"})
	m.standingKinds = map[actors.ID][]machine.AlertKind{}
	m.registry.MustRegister(m.state, m.since, m.transitions, m.errors, m.alerts, m.head, m.appendTime, m.appendFails,
		m.requestTime, m.operations, m.standing, m.stays,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeChange sets a component's standing-alert gauges from its durable
// status (assembly.Config.OnChange). The labels stay bounded: the
// components times the alert kinds (machine.AlertKind).
func (m *metrics) observeChange(ch protoactor.Change) {
	counts := map[machine.AlertKind]int{}
	kinds := make([]machine.AlertKind, 0, len(ch.Alerts))
	for _, k := range ch.Alerts {
		if counts[k] == 0 {
			kinds = append(kinds, k)
		}
		counts[k]++
	}
	m.standingMu.Lock()
	defer m.standingMu.Unlock()
	for _, k := range m.standingKinds[ch.ID] {
		if counts[k] == 0 {
			m.standing.WithLabelValues(string(ch.ID), string(k)).Set(0)
		}
	}
	for _, k := range kinds {
		m.standing.WithLabelValues(string(ch.ID), string(k)).Set(float64(counts[k]))
	}
	m.standingKinds[ch.ID] = kinds
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
// metrics show has been logged. views are the components' statuses at
// from-1, where the stays in progress began.
func (m *metrics) follow(ctx context.Context, log events.Log, from uint64, views map[actors.ID]machine.Status,
	errorStates map[actors.ID]map[string]bool, logger hclog.Logger) {
	since := make(map[actors.ID]time.Time, len(views))
	for id, st := range views {
		since[id] = st.Since
	}
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
			if began, ok := since[id]; ok {
				// A stay began before a restart ends after it; a clock
				// stepped back gives no negative stay.
				m.stays.WithLabelValues(string(id), r.Event.From).Observe(max(0, r.Status.Since.Sub(began).Seconds()))
			}
			since[id] = r.Status.Since
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
