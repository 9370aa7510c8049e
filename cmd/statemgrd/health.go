package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/events"
)

// health answers /healthz (the component actors answer and the event log
// is not failed) and /readyz (recovered, reconciled, serving, not shutting
// down, and the log can append). A log short of space makes the daemon
// unready but not unhealthy: appends resume once space is freed, and a
// watchdog restart would not free any. A failed log makes it unhealthy:
// only a restart recovers it.
type health struct {
	sys   atomic.Pointer[protoactor.System]
	log   atomic.Pointer[events.AppendChecker]
	ready atomic.Bool
	// restoring passes the health check while a restore has the
	// components stopped (MaxRestoreTime bounds it): the systemd watchdog
	// must not kill the daemon midway.
	restoring atomic.Bool
	// unconfigured passes the health check while the daemon runs no
	// platform (statemgrd --unconfigured): it serves the config subjects,
	// and a restart would not configure it. It is not ready.
	unconfigured atomic.Bool
}

// canAppend is the log's answer; nil before the log is open.
func (h *health) canAppend() error {
	if l := h.log.Load(); l != nil {
		return (*l).CanAppend()
	}
	return nil
}

// check asks every component for its view within a deadline: a stuck
// mailbox makes the daemon unhealthy (and stops the systemd watchdog).
func (h *health) check(ctx context.Context) error {
	if h.restoring.Load() || h.unconfigured.Load() {
		return nil
	}
	sys := h.sys.Load()
	if sys == nil {
		return errNotStarted
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, id := range sys.IDs() {
		if _, err := sys.Get(ctx, id); err != nil {
			return err
		}
	}
	if err := h.canAppend(); err != nil && !errors.Is(err, events.ErrNoSpace) {
		return err
	}
	return nil
}

func (h *health) handler(m *metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		err := h.check(r.Context())
		if err != nil {
			respond(w, err)
			return
		}
		// Healthy, but say why requests fail.
		w.Header().Set("Content-Type", "application/json")
		body := map[string]string{"status": "ok"}
		if err := h.canAppend(); err != nil {
			body["warning"] = err.Error()
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if h.unconfigured.Load() {
			respond(w, errUnconfigured)
			return
		}
		if !h.ready.Load() {
			respond(w, errNotReady)
			return
		}
		err := h.check(r.Context())
		if err == nil {
			err = h.canAppend()
		}
		respond(w, err)
	})
	return mux
}

func respond(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}
