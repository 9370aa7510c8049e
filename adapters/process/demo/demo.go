// Package demo is a tiny real service for statemgr to supervise: the
// process tests run it (as the statemgr-demo-service command), and the
// default platform declares it (run by statemgrd's own binary as
// "statemgrd demo-service", so a fresh checkout needs nothing built). It can serve an HTTP health endpoint, become ready late,
// fail, crash, ignore SIGTERM and probe a URL, each on a flag.
//
//	statemgr-demo-service --listen 127.0.0.1:8080 --ready-after 200ms
//	statemgr-demo-service --probe http://127.0.0.1:8080/healthz
//
// With --listen it opens the address once ready (so a TCP check also
// waits for readiness) and answers GET /healthz with 200 "ok", or, after
// --healthy-requests such answers, with 500 "unhealthy" (a hung service,
// for liveness checks). It prints "ready" when ready. On
// SIGTERM or SIGINT it exits 0 (SIGTERM is ignored with --ignore-sigterm).
// Exit codes: 0 stopped, 1 error, 2 --crash, 3 --fail-after.
package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitCrash = 2
	exitFail  = 3
)

type config struct {
	listen        string
	readyAfter    time.Duration
	failAfter     time.Duration
	healthyN      int
	ignoreSIGTERM bool
	crash         bool
	probe         string
}

// Main runs the demo service with args (without the program name) and
// returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("statemgr-demo-service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "", "serve GET /healthz on this address once ready, e.g. 127.0.0.1:0")
	fs.DurationVar(&c.readyAfter, "ready-after", 0, "become ready after this long")
	fs.DurationVar(&c.failAfter, "fail-after", 0, "exit with code 3 after this long (0: never)")
	fs.IntVar(&c.healthyN, "healthy-requests", 0, "answer /healthz with 500 after this many 200s (0: never)")
	fs.BoolVar(&c.ignoreSIGTERM, "ignore-sigterm", false, "ignore SIGTERM (only SIGKILL or SIGINT end it)")
	fs.BoolVar(&c.crash, "crash", false, "exit with code 2 at once")
	fs.StringVar(&c.probe, "probe", "", "GET this URL and exit 0 on a 2xx status, 1 otherwise (a command check)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return exitError
	}
	return run(c, stdout, stderr)
}

func run(c config, stdout, stderr io.Writer) int {
	if c.probe != "" {
		return probe(c.probe, stdout, stderr)
	}
	if c.crash {
		fmt.Fprintln(stderr, "crashing on start, as asked")
		return exitCrash
	}
	stopSignals := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	if c.ignoreSIGTERM {
		signal.Ignore(syscall.SIGTERM)
		stopSignals = stopSignals[:1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	var fail <-chan time.Time
	if c.failAfter > 0 {
		fail = time.After(c.failAfter)
	}
	select {
	case <-time.After(c.readyAfter):
	case <-ctx.Done():
		fmt.Fprintln(stdout, "stopping before ready")
		return exitOK
	case <-fail:
		fmt.Fprintln(stderr, "failing before ready, as asked")
		return exitFail
	}
	var srv *http.Server
	if c.listen != "" {
		ln, err := net.Listen("tcp", c.listen)
		if err != nil {
			fmt.Fprintln(stderr, "cannot listen:", err)
			return exitError
		}
		srv = &http.Server{Handler: health(c.healthyN), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(stderr, "serve:", err)
			}
		}()
		fmt.Fprintln(stdout, "listening on", ln.Addr())
	}
	fmt.Fprintln(stdout, "ready")
	code := exitOK
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "stopping")
	case <-fail:
		fmt.Fprintln(stderr, "failing, as asked")
		code = exitFail
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // exiting anyway
	}
	return code
}

// health answers /healthz: "ok" healthyN times (always when 0), then
// "unhealthy" with status 500.
func health(healthyN int) http.Handler {
	var answered atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if healthyN > 0 && answered.Add(1) > int64(healthyN) {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

func probe(url string, stdout, stderr io.Writer) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	defer resp.Body.Close()
	fmt.Fprintln(stdout, resp.Status)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return exitError
	}
	return exitOK
}
