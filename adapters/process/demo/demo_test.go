package demo

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRunCrash(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(config{crash: true}, &stdout, &stderr); code != exitCrash || !strings.Contains(stderr.String(), "crashing") {
		t.Fatalf("exit %d, stderr %q: want %d and a message", code, stderr.String(), exitCrash)
	}
}

func TestRunFailAfter(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(config{listen: "127.0.0.1:0", failAfter: 50 * time.Millisecond}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stdout.String(), "ready") || !strings.Contains(stdout.String(), "listening on 127.0.0.1:") {
		t.Fatalf("exit %d, stdout %q: want ready, listening, then exit %d", code, stdout.String(), exitFail)
	}
}

func TestHealthz(t *testing.T) {
	h := health(2)
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusInternalServerError, http.StatusInternalServerError} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if w.Code != want {
			t.Fatalf("request %d: status %d, want %d", i+1, w.Code, want)
		}
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(health(0))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	if code := run(config{probe: srv.URL + "/healthz"}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "200") {
		t.Fatalf("probe of a healthy server: exit %d, %q", code, stdout.String())
	}
	if code := run(config{probe: srv.URL + "/missing"}, &stdout, &stderr); code != exitError {
		t.Fatalf("probe of a 404: exit %d, want %d", code, exitError)
	}
}
