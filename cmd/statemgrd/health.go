package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/statemgr/statemgr/actors/protoactor"
)

// health answers /healthz (the component actors answer) and /readyz
// (recovered, reconciled, serving, and not shutting down).
type health struct {
	sys   atomic.Pointer[protoactor.System]
	ready atomic.Bool
}

// check asks every component for its view within a deadline: a stuck
// mailbox makes the daemon unhealthy (and stops the systemd watchdog).
func (h *health) check(ctx context.Context) error {
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
	return nil
}

func (h *health) handler(m *metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		respond(w, h.check(r.Context()))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !h.ready.Load() {
			respond(w, errNotReady)
			return
		}
		respond(w, h.check(r.Context()))
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
