package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/server/inputs"
)

// ServiceName is the micro service name, as $SRV discovery shows it.
const ServiceName = "statemgr"

// DefaultVersion is the service version when Config.Version is empty.
const DefaultVersion = "0.1.0"

// Request size limits.
const (
	MaxRequestSize  = 64 << 10  // every subject but validate
	MaxValidateSize = 512 << 10 // statemgr.validate carries a platform file
)

// Defaults of Config.
const (
	DefaultRequestTimeout     = 5 * time.Second
	DefaultMaxInFlight        = 1024
	DefaultOperationIndexSize = 4096
	// MaxWait bounds a control request's "wait".
	MaxWait = 5 * time.Minute
	// MaxScheduleAhead bounds how far ahead "at" may schedule an operation.
	MaxScheduleAhead = 7 * 24 * time.Hour
)

// Config configures a Server.
type Config struct {
	Conn   *nats.Conn         // the connection the service and the publisher use
	System *protoactor.System // the components
	// Operations runs host, chassis and maintenance requests as sagas.
	Operations Operations
	Log        events.Log         // the log the components write
	Platform   *platform.Platform // the platform the components come from; nil = platform.Default()
	Clock      clock.Clock        // nil = the real clock
	Logger     hclog.Logger       // nil = silent
	Version    string             // SemVer of the service; "" = DefaultVersion
	// RequestTimeout bounds how long a request waits for a component's
	// actor; past it the reply is ErrUnavailable (outcome unknown).
	RequestTimeout time.Duration
	// MaxInFlight bounds the requests handled at once; past it requests
	// get ErrBusy.
	MaxInFlight int
	// OperationIndexSize bounds the operations statemgr.operation.get can
	// find (the most recent ones).
	OperationIndexSize int
	// TrustRequestInfo takes the requester's NATS user from the
	// Nats-Request-Info header. Set it only when clients reach statemgr
	// through an account service import that shares their identity, as on
	// an embedded server with users (StartNATS): nats-server then
	// overwrites the header with the authenticated sender. Within one
	// account the header is whatever the client sent, so by default
	// requests are recorded as Anonymous.
	TrustRequestInfo bool
	// Inputs receives the external inputs' reports
	// (statemgr.input.<kind>.<name>); the coordinator reads the same
	// Store. nil: every report is refused with ErrUnknownInput.
	Inputs *inputs.Store
	// PSUs reads the PSUs for statemgr.psu.readings; nil: the subject
	// answers ErrNotSupportedByPlatform.
	PSUs PSUs
	// Checkpoints makes and keeps checkpoints (statemgr.checkpoint.*);
	// nil: those subjects answer checkpoints_not_configured.
	Checkpoints Checkpoints
	// LEDs drives the platform's LEDs (the assembly's); nil: the LED
	// subjects answer ErrNoLEDs.
	LEDs *leds.Controller
	// Restorer restores checkpoints in the running daemon
	// (statemgr.checkpoint.restore); nil, or no Checkpoints: that subject
	// answers checkpoints_not_configured.
	Restorer Restorer
	// Configurer shows the platform in force and replaces it
	// (statemgr.config.get and statemgr.config.set); nil: those subjects
	// answer unsupported.
	Configurer Configurer
	// Unconfigured serves a daemon that runs no platform yet (statemgrd
	// --unconfigured): System, Log, Operations and Platform are nil, the
	// list subjects answer no components, statemgr.validate and the
	// config subjects are served, and every other subject answers
	// not_configured. It needs Conn and Configurer.
	Unconfigured bool
}

// Server is statemgr's NATS API: a micro service with one endpoint per
// subject, and a publisher that follows the event log onto the event
// subjects.
type Server struct {
	cfg        Config
	log        hclog.Logger
	stateKinds map[actors.ID]map[string]machine.StateKind
	topo       coordinator.Topology           // which chassis powers which hosts, for guard facts
	notifiers  map[actors.ID]*events.Notifier // woken when the publisher passes a record of the component
	ops        *operationIndex
	views      *viewCache
	reports    reportLimiter // bounds each service's self-state reports and each host's events
	beats      *heartbeats   // the hosts' heartbeat watchdogs
	endpoints  []endpoint

	mu       sync.Mutex // guards svc, pub, stopping, exclusive, inflight.Add and controls.Add
	svc      micro.Service
	pub      *publisher
	stopping bool
	// exclusive is the subject of the exclusive request running (a
	// restore, a platform change), "" when none: control requests are
	// refused until it ends, and it waits for those in controls first.
	exclusive string
	inflight  sync.WaitGroup
	controls  sync.WaitGroup
	slots     chan struct{}
	quit      chan struct{} // closed by Stop: waits for outcomes end early
	started   time.Time
	warnings  *repeatedWarnings
}

// New checks cfg and builds a Server; Start makes it serve.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Unconfigured && (cfg.Conn == nil || cfg.Configurer == nil):
		return nil, errors.New("cannot create the unconfigured statemgr server: Config needs Conn and Configurer")
	case cfg.Unconfigured && (cfg.System != nil || cfg.Log != nil || cfg.Operations != nil || cfg.Platform != nil):
		return nil, errors.New("cannot create the unconfigured statemgr server: it runs no System, Log, Operations or Platform")
	case !cfg.Unconfigured && (cfg.Conn == nil || cfg.System == nil || cfg.Log == nil || cfg.Operations == nil):
		return nil, errors.New("cannot create the statemgr server: Config needs Conn, System, Log and Operations")
	}
	if cfg.Platform == nil && !cfg.Unconfigured {
		cfg.Platform = platform.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.OperationIndexSize <= 0 {
		cfg.OperationIndexSize = DefaultOperationIndexSize
	}
	var comps []platform.Component
	if cfg.Platform != nil {
		var err error
		if comps, err = cfg.Platform.Components(); err != nil {
			return nil, fmt.Errorf("cannot create the statemgr server: %w", err)
		}
	}
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		warnings:   newRepeatedWarnings(warningInterval),
		stateKinds: map[actors.ID]map[string]machine.StateKind{},
		notifiers:  map[actors.ID]*events.Notifier{},
		ops:        newOperationIndex(cfg.OperationIndexSize),
		views:      newViewCache(),
		slots:      make(chan struct{}, cfg.MaxInFlight),
		quit:       make(chan struct{}),
	}
	if cfg.Platform != nil {
		s.topo = coordinator.TopologyOf(cfg.Platform)
	}
	for _, c := range comps {
		kinds := map[string]machine.StateKind{}
		for _, st := range c.Machine.States {
			kinds[st.Name] = st.Kind
		}
		s.stateKinds[actors.ID(c.ID)] = kinds
	}
	for _, id := range s.ids() {
		if _, ok := s.stateKinds[id]; !ok {
			return nil, fmt.Errorf("cannot create the statemgr server: component %s is not in the platform", id)
		}
		s.notifiers[id] = &events.Notifier{}
	}
	s.beats = newHeartbeats(s)
	s.endpoints = s.endpointTable()
	return s, nil
}

// Start seeds the operation index from the end of the log, starts the
// publisher from the log's head, reads every component's view once, and
// registers the micro service with every endpoint. A Server starts once.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc != nil {
		return errors.New("statemgr server already started")
	}
	if s.cfg.Unconfigured {
		return s.register(nil, 0)
	}
	ctx := context.Background()
	head, err := s.cfg.Log.Head(ctx)
	if err != nil {
		return fmt.Errorf("cannot start the statemgr server: cannot read the log head: %w", err)
	}
	if err := s.seedOperations(ctx, head); err != nil {
		return fmt.Errorf("cannot start the statemgr server: %w", err)
	}
	pub, err := startPublisher(s, head+1)
	if err != nil {
		return fmt.Errorf("cannot start the statemgr server: %w", err)
	}
	if err := s.seedViews(ctx); err != nil {
		pub.stop()
		return fmt.Errorf("cannot start the statemgr server: %w", err)
	}
	if err := s.register(pub, head); err != nil {
		pub.stop()
		return err
	}
	return nil
}

// ids are the components' ids; none on an unconfigured Server.
func (s *Server) ids() []actors.ID {
	if s.cfg.System == nil {
		return nil
	}
	return s.cfg.System.IDs()
}

// register adds the micro service with every endpoint; the caller holds
// s.mu and stops pub if it fails.
func (s *Server) register(pub *publisher, head uint64) error {
	svc, err := micro.AddService(s.cfg.Conn, micro.Config{
		Name:        ServiceName,
		Version:     s.cfg.Version,
		Description: "statemgr BMC state server: component states, power control, history and events",
		Metadata:    map[string]string{"events": SubjectEventsPrefix + ">"},
	})
	if err != nil {
		return fmt.Errorf("cannot register the %s service: %w", ServiceName, err)
	}
	for _, ep := range s.endpoints {
		meta, err := ep.metadata()
		if err != nil {
			_ = svc.Stop()
			return fmt.Errorf("cannot add endpoint %s: %w", ep.subject, err)
		}
		if err := svc.AddEndpoint(ep.name(), s.handler(ep), micro.WithEndpointSubject(ep.subject),
			micro.WithEndpointMetadata(meta)); err != nil {
			_ = svc.Stop()
			return fmt.Errorf("cannot add endpoint %s: %w", ep.subject, err)
		}
	}
	// The endpoints' subscriptions must be in place at the NATS server
	// before anyone is told the service is up.
	if err := s.cfg.Conn.Flush(); err != nil {
		_ = svc.Stop()
		return fmt.Errorf("cannot register the %s service's subscriptions: %w", ServiceName, err)
	}
	s.svc, s.pub, s.started = svc, pub, s.cfg.Clock.Now()
	s.log.Info("serving", "service", ServiceName, "version", s.cfg.Version, "endpoints", len(s.endpoints), "log_head", head,
		"unconfigured", s.cfg.Unconfigured)
	return nil
}

// Stop stops intake (the micro service stops its subscriptions), lets the
// requests in flight finish (waits end early with their current outcome),
// then stops the publisher. Events appended later stay in the log, where
// statemgr.log.replay finds them after a restart.
func (s *Server) Stop() error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	close(s.quit)
	svc, pub := s.svc, s.pub
	s.mu.Unlock()
	var err error
	if svc != nil {
		err = svc.Stop()
	}
	s.inflight.Wait()
	s.beats.stop()
	if pub != nil {
		pub.stop()
	}
	return err
}

// Info returns the micro service's info (its endpoints), or false before
// Start.
func (s *Server) Info() (micro.Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return micro.Info{}, false
	}
	return s.svc.Info(), true
}

// Published returns the global seq of the last event published.
func (s *Server) Published() uint64 {
	s.mu.Lock()
	pub := s.pub
	s.mu.Unlock()
	if pub == nil {
		return 0
	}
	return pub.published.Load()
}

// endpoint is one subject of the service.
type endpoint struct {
	subject string
	kind    string // "read" or "control"
	limit   int    // request size limit
	// request is the type the handler decodes the body into, described
	// in the endpoint's metadata.
	request reflect.Type
	// inline handlers answer from memory without blocking, so they run on
	// the endpoint's subscription goroutine; the others get their own.
	inline bool
	// exclusive is statemgr.checkpoint.restore's and statemgr.config.set's:
	// it refuses control requests while it runs and is not counted in
	// flight (the Server it stops would wait for it).
	exclusive bool
	// unconfigured endpoints are served by an unconfigured Server too;
	// the others answer not_configured there.
	unconfigured bool
	handle       func(ctx context.Context, c *call) (any, error)
}

// Endpoint kinds, in each endpoint's metadata.
const (
	EndpointRead    = "read"
	EndpointControl = "control"
)

// name derives the endpoint name (unique, micro-valid) from the subject:
// "statemgr.host.power.on" → "host-power-on".
func (ep endpoint) name() string {
	n := strings.TrimPrefix(ep.subject, "statemgr.")
	n = strings.ReplaceAll(n, ".*", "")
	return strings.ReplaceAll(n, ".", "-")
}

// call is one request being handled.
type call struct {
	subject   string
	data      []byte
	requester string
}

// handler wraps an endpoint for micro: it checks the size synchronously,
// then answers inline endpoints at once and hands the others to their own
// goroutine, with an in-flight slot, so that the endpoint's subscription
// never waits on an actor or the log.
func (s *Server) handler(ep endpoint) micro.Handler {
	return micro.HandlerFunc(func(req micro.Request) {
		if len(req.Data()) > ep.limit {
			s.respondError(req, newError(ErrPayloadTooLarge, "request body is %d bytes, %s takes at most %d", len(req.Data()), ep.subject, ep.limit))
			return
		}
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			s.respondError(req, newError(ErrStopping, "statemgr is shutting down"))
			return
		}
		if s.cfg.Unconfigured && !ep.unconfigured {
			s.mu.Unlock()
			s.respondError(req, newError(ErrNotConfigured, "statemgrd runs unconfigured, with no platform and no components: %s is refused until an operator sets the platform (statemgr config set FILE)", ep.subject))
			return
		}
		if ep.inline {
			s.mu.Unlock()
			s.answer(req, ep, &call{subject: req.Subject(), data: req.Data(), requester: s.requesterOf(req.Headers())})
			return
		}
		control := ep.kind == EndpointControl
		if control && s.exclusive != "" {
			s.mu.Unlock()
			s.respondError(req, exclusiveRunning(s.exclusive, ep.subject))
			return
		}
		c := &call{subject: req.Subject(), data: req.Data(), requester: s.requesterOf(req.Headers())}
		// Answered on its own goroutine, so that a slow component does not
		// hold the endpoint. That goroutine must not touch req: micro reads
		// its error fields for statistics as soon as this handler returns.
		reply := directReply{nc: s.cfg.Conn, subject: req.Reply()}
		if ep.exclusive {
			derr := s.beginExclusive(ep.subject)
			s.mu.Unlock()
			if derr != nil {
				s.respondError(req, derr)
				return
			}
			go s.answer(reply, ep, c)
			return
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.mu.Unlock()
			s.respondError(req, newError(ErrBusy, "%d requests in flight", cap(s.slots)))
			return
		}
		s.inflight.Add(1)
		if control {
			s.controls.Add(1)
		}
		s.mu.Unlock()
		go func() {
			defer func() {
				<-s.slots
				if control {
					s.controls.Done()
				}
				s.inflight.Done()
			}()
			s.answer(reply, ep, c)
		}()
	})
}

// replier sends a request's reply or error reply: the micro.Request while
// the handler runs, a directReply after it returned.
type replier interface {
	Respond(data []byte, opts ...micro.RespondOpt) error
	Error(code, description string, data []byte, opts ...micro.RespondOpt) error
}

// directReply publishes a reply on the request's reply subject, with the
// error headers micro would set. Errors sent this way are not counted in
// micro's $SRV.STATS num_errors.
type directReply struct {
	nc      *nats.Conn
	subject string
}

func (d directReply) Respond(data []byte, _ ...micro.RespondOpt) error {
	if d.subject == "" {
		return nil // a publish without a reply subject wants no answer
	}
	return d.nc.Publish(d.subject, data)
}

func (d directReply) Error(code, description string, data []byte, opts ...micro.RespondOpt) error {
	if d.subject == "" {
		return nil
	}
	msg := nats.NewMsg(d.subject)
	msg.Header.Set(micro.ErrorHeader, description)
	msg.Header.Set(micro.ErrorCodeHeader, code)
	msg.Data = data
	for _, opt := range opts {
		opt(msg)
	}
	return d.nc.PublishMsg(msg)
}

// answer handles one request and sends the reply or the error.
func (s *Server) answer(req replier, ep endpoint, c *call) {
	reply, err := ep.handle(context.Background(), c)
	if err != nil {
		apiErr := classify(err)
		if apiErr.Kind.Status >= 500 {
			if ok, suppressed := s.warnings.allow(ep.subject+" "+apiErr.Kind.Name(), s.cfg.Clock.Now()); ok {
				s.log.Warn("request failed", "subject", c.subject, "error", err, "kind", apiErr.Kind.Name(),
					"same_failures_not_logged", suppressed, "logged_at_most_every", warningInterval)
			}
		}
		s.respondError(req, apiErr)
		return
	}
	body, err := encodeReply(c.subject, reply, s.replyBudget())
	if err != nil {
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			apiErr = &Error{Kind: ErrInternal, Message: err.Error(), Err: err}
		}
		s.respondError(req, apiErr)
		return
	}
	if err := req.Respond(body); err != nil {
		s.replyFailed(c.subject, len(body), err)
	}
}

// replyFailed logs a reply that could not be sent, at most once per
// interval for each subject: the client waits in vain for it.
func (s *Server) replyFailed(subject string, size int, err error) {
	if ok, suppressed := s.warnings.allow("reply "+subject, s.cfg.Clock.Now()); ok {
		s.log.Warn("cannot send a reply; the requester gets none", "subject", subject, "bytes", size, "error", err,
			"same_failures_not_logged", suppressed, "logged_at_most_every", warningInterval)
	}
}

func (s *Server) respondError(req replier, e *Error) {
	body, err := json.Marshal(e.Reply())
	if err != nil {
		body = nil
	}
	// Header values are one line.
	msg := strings.ReplaceAll(e.Error(), "\n", "; ")
	code := micro.WithHeaders(micro.Headers{HeaderErrorCode: {strconv.Itoa(e.Kind.Code)}})
	if err := req.Error(strconv.Itoa(e.Kind.Status), msg, body, code); err != nil {
		s.replyFailed("error "+e.Kind.Name(), len(body), err)
	}
}

// requestInfoHeader carries the requester's identity when the request
// crossed an account import (nats-server's Nats-Request-Info).
const requestInfoHeader = "Nats-Request-Info"

// Anonymous is the requester recorded when the server cannot tell who asked.
const Anonymous = "anonymous"

// requesterOf names who sent a request: with Config.TrustRequestInfo, the
// NATS user from the Nats-Request-Info header that nats-server sets on
// requests crossing an account's service import; otherwise Anonymous.
// Clients cannot name themselves.
func (s *Server) requesterOf(h micro.Headers) string {
	raw := h.Get(requestInfoHeader)
	if !s.cfg.TrustRequestInfo || raw == "" {
		return Anonymous
	}
	var info struct {
		User    string `json:"user"`
		Account string `json:"acc"`
	}
	if json.Unmarshal([]byte(raw), &info) != nil || info.User == "" {
		return Anonymous
	}
	return info.User
}

// stateKind returns the kind of state st of component id.
func (s *Server) stateKind(id actors.ID, st string) machine.StateKind {
	return s.stateKinds[id][st]
}
