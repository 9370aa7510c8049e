package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/server"
)

// Discover asks the service's $SRV.INFO for its endpoints, sorted by
// subject. An endpoint without a request schema or size limit is an error:
// the campaign could not cover it.
func Discover(ctx context.Context, nc *nats.Conn) ([]Endpoint, error) {
	msg, err := nc.RequestWithContext(ctx, "$SRV.INFO."+server.ServiceName, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot ask $SRV.INFO.%s: %w", server.ServiceName, err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		return nil, fmt.Errorf("$SRV.INFO reply: %w", err)
	}
	var out []Endpoint
	for _, ep := range info.Endpoints {
		req, err := ParseSchema(ep.Metadata[server.MetadataRequest])
		if err != nil || req.Kind != "object" {
			return nil, fmt.Errorf("endpoint %s declares no usable request schema (%q): %v", ep.Subject, ep.Metadata[server.MetadataRequest], err)
		}
		max, err := strconv.Atoi(ep.Metadata[server.MetadataMaxBytes])
		if err != nil || max <= 0 {
			return nil, fmt.Errorf("endpoint %s declares no size limit (%q)", ep.Subject, ep.Metadata[server.MetadataMaxBytes])
		}
		out = append(out, Endpoint{Subject: ep.Subject, Kind: ep.Metadata["kind"], Request: req, MaxBytes: max})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no endpoints", server.ServiceName)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Subject < out[j].Subject })
	return out, nil
}

// Verdict is the judgement of one reply.
type Verdict struct {
	Code    int    // the error code, 0 for a success
	Problem string // empty when the reply is as the API promises
}

// Judge checks a reply to c: a success whose body is JSON, or an error
// whose code is in the catalogue and whose body is that entry's
// ErrorReply; a refusal where c must be refused; never unknown_field for a
// body of declared fields only.
func Judge(c Case, msg *nats.Msg) Verdict {
	header := ""
	if msg.Header != nil {
		header = msg.Header.Get(micro.ErrorCodeHeader)
	}
	if header == "" {
		switch {
		case !json.Valid(msg.Data):
			return Verdict{Problem: fmt.Sprintf("a success whose body is not JSON: %.80q", msg.Data)}
		case c.Refuse:
			return Verdict{Problem: fmt.Sprintf("accepted, but the body is not a request: %.120s", msg.Data)}
		}
		return Verdict{}
	}
	// micro's header carries the HTTP-like status; the catalogue code
	// has its own header.
	code, err := strconv.Atoi(msg.Header.Get(server.HeaderErrorCode))
	if err != nil {
		return Verdict{Problem: fmt.Sprintf("error reply (status %s) without a numeric %s header", header, server.HeaderErrorCode)}
	}
	kind, ok := server.LookupError(code)
	if !ok {
		return Verdict{Code: code, Problem: fmt.Sprintf("error code %d is not in the catalogue (%s)", code, msg.Header.Get(micro.ErrorHeader))}
	}
	if header != strconv.Itoa(kind.Status) {
		return Verdict{Code: code, Problem: fmt.Sprintf("error %d's status header is %q, its catalogue entry's status is %d", code, header, kind.Status)}
	}
	var body server.ErrorReply
	if err := json.Unmarshal(msg.Data, &body); err != nil || body.Error.Code != code || body.Error.Name != kind.Name() || body.Error.Message == "" || body.Error.Hint == "" {
		return Verdict{Code: code, Problem: fmt.Sprintf("error %d's body is not its catalogue entry's reply: %.120q", code, msg.Data)}
	}
	if c.DeclaredOnly && kind == server.ErrUnknownField {
		return Verdict{Code: code, Problem: "unknown_field for a body of fields the schema declares: " + body.Error.Message}
	}
	return Verdict{Code: code}
}

// Config tunes Run.
type Config struct {
	Seed        uint64
	Concurrency int           // requests in flight at once; 0 = 4
	Timeout     time.Duration // for one reply; 0 = 15 s
	Now         time.Time     // for schedules; zero = time.Now()
	// AfterBatch, if set, runs after each endpoint's batch and its
	// liveness check (the caller samples the daemon's memory there).
	AfterBatch func(subject string)
	// ResetRestarts says an accepted statemgr.bmc.reset restarts the
	// daemon (the platform's BMC reset is restart-daemon, as on the
	// default platform). That endpoint's cases are then sent one at a
	// time, and after each Run waits, up to RestartTimeout, until the
	// daemon answers again with the BMC out of Rebooting: a request sent
	// while the daemon restarts has no one to answer it, which is the
	// reset doing its work, not a broken promise.
	ResetRestarts  bool
	RestartTimeout time.Duration // 0 = 60 s
}

// Result is one case and its verdict.
type Result struct {
	Case    Case
	Verdict Verdict
}

// Report is what a campaign found.
type Report struct {
	Endpoints []Endpoint
	Results   []Result
	// Liveness lists the batches after which statemgr.hosts.list did not
	// answer a success.
	Liveness []string
	// Restarts counts the daemon restarts (a new instance of the service)
	// Run waited for after a BMC reset.
	Restarts int
}

// Run discovers the endpoints and sends every generated case, one
// endpoint's batch after another, checking after each batch that the
// daemon still answers statemgr.hosts.list.
func Run(ctx context.Context, nc *nats.Conn, cfg Config) (*Report, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.RestartTimeout <= 0 {
		cfg.RestartTimeout = 60 * time.Second
	}
	eps, err := Discover(ctx, nc)
	if err != nil {
		return nil, err
	}
	rep := &Report{Endpoints: eps}
	for _, ep := range eps {
		cases := Generate(ep, cfg.Seed, cfg.Now)
		var results []Result
		if cfg.ResetRestarts && ep.Subject == server.SubjectBMCReset {
			if results, err = rep.sendResets(ctx, nc, cases, cfg); err != nil {
				rep.Results = append(rep.Results, results...)
				return rep, err
			}
		} else {
			results = sendAll(ctx, nc, cases, cfg)
		}
		rep.Results = append(rep.Results, results...)
		if err := alive(ctx, nc, cfg.Timeout); err != nil {
			rep.Liveness = append(rep.Liveness, fmt.Sprintf("after %s: %v", ep.Subject, err))
		}
		if cfg.AfterBatch != nil {
			cfg.AfterBatch(ep.Subject)
		}
	}
	return rep, nil
}

// sendAll sends cases, cfg.Concurrency at a time.
func sendAll(ctx context.Context, nc *nats.Conn, cases []Case, cfg Config) []Result {
	results := make([]Result, len(cases))
	work := make(chan int)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = Result{Case: cases[i], Verdict: send(ctx, nc, cases[i], cfg.Timeout)}
			}
		}()
	}
	for i := range cases {
		work <- i
	}
	close(work)
	wg.Wait()
	return results
}

// sendResets sends statemgr.bmc.reset's cases one at a time, waiting after
// each until the daemon is back from the reset it may have started. It
// fails if the daemon does not come back: every later case would go
// unanswered.
func (rep *Report) sendResets(ctx context.Context, nc *nats.Conn, cases []Case, cfg Config) ([]Result, error) {
	var results []Result
	for _, c := range cases {
		before, err := instanceID(ctx, nc, cfg.Timeout)
		if err != nil {
			return results, fmt.Errorf("before the BMC reset case %s: %w", c.What, err)
		}
		results = append(results, Result{Case: c, Verdict: send(ctx, nc, c, cfg.Timeout)})
		after, err := awaitBMCUp(ctx, nc, cfg.RestartTimeout)
		if err != nil {
			return results, fmt.Errorf("the daemon did not come back from the BMC reset case %s within %v: %w", c.What, cfg.RestartTimeout, err)
		}
		if after != before {
			rep.Restarts++
		}
	}
	return results, nil
}

// instanceID asks $SRV.PING for the id of the service's instance: a
// restarted daemon's is new.
func instanceID(ctx context.Context, nc *nats.Conn, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, "$SRV.PING."+server.ServiceName, nil)
	if err != nil {
		return "", fmt.Errorf("cannot ask $SRV.PING.%s: %w", server.ServiceName, err)
	}
	var ping micro.Ping
	if err := json.Unmarshal(msg.Data, &ping); err != nil || ping.ID == "" {
		return "", fmt.Errorf("$SRV.PING.%s answered %.120q", server.ServiceName, msg.Data)
	}
	return ping.ID, nil
}

// awaitBMCUp asks for the BMC until the daemon answers with it out of
// Rebooting (a reset the daemon restarted for ends with the BMC booted),
// then returns the service's instance id. While the daemon restarts,
// requests go unanswered or find no responder; that is waited out.
func awaitBMCUp(ctx context.Context, nc *nats.Conn, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body := render([]pair{{"id", str(plausibleID(server.SubjectBMCReset))}})
	var last error
	for {
		if state, err := askState(ctx, nc, body); err != nil {
			last = err
		} else if state != machine.StateRebooting {
			return instanceID(ctx, nc, time.Second)
		} else {
			last = fmt.Errorf("the BMC is still %s", state)
		}
		select {
		case <-ctx.Done():
			return "", last
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// askState asks statemgr.bmc.get for the state of the BMC body names.
func askState(ctx context.Context, nc *nats.Conn, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, server.SubjectBMCGet, body)
	if err != nil {
		return "", err
	}
	var comp server.Component
	if msg.Header.Get(micro.ErrorCodeHeader) != "" || json.Unmarshal(msg.Data, &comp) != nil {
		return "", fmt.Errorf("%s answered %.120q", server.SubjectBMCGet, msg.Data)
	}
	return comp.State, nil
}

func send(ctx context.Context, nc *nats.Conn, c Case, timeout time.Duration) Verdict {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg, err := nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: c.Subject, Data: c.Body})
	if err != nil {
		return Verdict{Problem: "no reply: " + err.Error()}
	}
	return Judge(c, msg)
}

// alive asks statemgr.hosts.list and wants a success listing hosts.
func alive(ctx context.Context, nc *nats.Conn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, server.SubjectHostsList, []byte(`{}`))
	if err != nil {
		return err
	}
	var list server.ComponentList
	if msg.Header.Get(micro.ErrorCodeHeader) != "" || json.Unmarshal(msg.Data, &list) != nil || len(list.Components) == 0 {
		return fmt.Errorf("%s answered %.120q", server.SubjectHostsList, msg.Data)
	}
	return nil
}
