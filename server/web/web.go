package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

//go:embed static
var staticFiles embed.FS

// Config configures the page's handler.
type Config struct {
	// Dial connects to statemgr's NATS server with opts (the user's
	// credentials and inbox prefix, or none for an anonymous connection).
	Dial   func(opts ...nats.Option) (*nats.Conn, error)
	Logger hclog.Logger
	// UsersRequired: the NATS server has users, so nobody acts
	// anonymously and the page asks for a login.
	UsersRequired bool
	// MaxSessions bounds the sessions (each one NATS connection); 0 means 8.
	MaxSessions int
	// SessionIdle ends a session unused that long; 0 means 30 minutes.
	SessionIdle time.Duration
	// RequestTimeout bounds one forwarded request; 0 means 10 s (under the
	// HTTP listener's write timeout).
	RequestTimeout time.Duration
	Now            func() time.Time // nil: time.Now
}

// Handler serves the page and its bridge.
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	ctx    context.Context // ends at Close: streams stop
	cancel context.CancelFunc

	mu       sync.Mutex
	sessions map[string]*session
}

// session is one logged-in user: a NATS connection of theirs.
type session struct {
	user     string
	role     string
	csrf     string
	nc       *nats.Conn
	lastUsed time.Time
}

// Roles as the page shows them; NATS decides what each may do.
const (
	roleOperator = "operator"
	roleViewer   = "viewer"
)

const (
	sessionCookie = "statemgr_session"
	csrfHeader    = "X-Statemgr-CSRF"
	// maxBody bounds a POST to the bridge: the largest request subject
	// takes 64 KiB, wrapped in {"subject","body"}.
	maxBody = 64<<10 + 1024
	// heartbeat keeps an idle event stream's connection known alive.
	heartbeat = 15 * time.Second
)

// New returns the page's handler; Close it when the daemon stops.
func New(cfg Config) *Handler {
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 8
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{cfg: cfg, ctx: ctx, cancel: cancel, sessions: map[string]*session{}}
	static, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(static)
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		http.ServeFileFS(w, r, static, "index.html")
	})
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		files.ServeHTTP(w, r)
	})))
	h.mux.HandleFunc("POST /api/login", h.login)
	h.mux.HandleFunc("POST /api/logout", h.withSession(h.logout))
	h.mux.HandleFunc("GET /api/session", h.sessionInfo)
	h.mux.HandleFunc("POST /api/request", h.withSession(h.request))
	h.mux.HandleFunc("GET /api/events", h.events)
	return h
}

// Mount serves page's routes (/, /static/, /api/) and ops for every
// other path.
func Mount(page *Handler, ops http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/" || strings.HasPrefix(p, "/static/") || strings.HasPrefix(p, "/api/") {
			page.ServeHTTP(w, r)
			return
		}
		ops.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the page and the bridge.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// Close ends every session and event stream.
func (h *Handler) Close() {
	h.cancel()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, s := range h.sessions {
		s.nc.Close()
		delete(h.sessions, id)
	}
}

// pageHeaders forbid framing (clickjacking), scripts and styles from
// anywhere but the page's origin, and caching of a page that shows state.
func pageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
}

// writeError answers with a catalogued error, shaped as the NATS API's.
func writeError(w http.ResponseWriter, kind *server.ErrorKind, format string, args ...any) {
	e := &server.Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
	writeJSON(w, kind.Status, e.Reply())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// sameOrigin reports whether a POST came from a page of this host: its
// Origin (or, without one, its Referer) names the Host it was sent to.
// Browsers send Origin on every cross-site POST, so a forged form or
// fetch from another site fails here.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host == r.Host
}

// newToken returns 32 random bytes, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginRequest is POST /api/login's body; no user means anonymous.
type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// sessionReply tells the page who it acts as; CSRF goes in every POST.
type sessionReply struct {
	User string `json:"user"`
	Role string `json:"role"`
	CSRF string `json:"csrf"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, server.ErrWebCrossOrigin, "the login did not come from this host's page (Origin %q, Host %q)", r.Header.Get("Origin"), r.Host)
		return
	}
	var req loginRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if strings.ContainsAny(req.User, ".*> \t\r\n") {
		writeError(w, server.ErrWebBadCredentials, "user %q cannot be a statemgr user: names are one NATS subject token", req.User)
		return
	}
	if req.User == "" && h.cfg.UsersRequired {
		writeError(w, server.ErrWebLoginRequired, "statemgr has users: log in with one")
		return
	}
	opts := []nats.Option{nats.Name("statemgr-web"), nats.Timeout(2 * time.Second), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if req.User != "" {
		opts = append(opts, client.UserInfo(req.User, req.Password))
	}
	var perm permissionWatch
	opts = append(opts, nats.ErrorHandler(perm.record))
	nc, err := h.cfg.Dial(opts...)
	if err != nil {
		// In process, nats-server answers a refused login by closing the pipe.
		if msg := strings.ToLower(err.Error()); errors.Is(err, nats.ErrAuthorization) || strings.Contains(msg, "authorization") ||
			strings.Contains(msg, "closed pipe") {
			if req.User == "" {
				writeError(w, server.ErrWebLoginRequired, "statemgr has users: log in with one")
				return
			}
			writeError(w, server.ErrWebBadCredentials, "NATS refused user %q: %v", req.User, err)
			return
		}
		writeError(w, server.ErrUnavailable, "cannot connect to statemgr's NATS server: %v", err)
		return
	}
	role := h.probeRole(r.Context(), nc, &perm)
	user := req.User
	if user == "" {
		user = "anonymous"
	}
	s := &session{user: user, role: role, csrf: newToken(), nc: nc, lastUsed: h.cfg.Now()}
	id := newToken()
	if !h.addSession(id, s) {
		nc.Close()
		writeError(w, server.ErrWebTooManySessions, "%d sessions are open", h.cfg.MaxSessions)
		return
	}
	h.cfg.Logger.Info("web session opened", "user", user, "role", role)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, sessionReply{User: s.user, Role: s.role, CSRF: s.csrf})
}

// permissionWatch records a connection's publish permission violations:
// NATS reports them asynchronously, not as a request's error.
type permissionWatch struct {
	mu      sync.Mutex
	waiters []chan struct{}
}

func (p *permissionWatch) record(_ *nats.Conn, _ *nats.Subscription, err error) {
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.waiters {
		close(c)
	}
	p.waiters = nil
}

func (p *permissionWatch) wait() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := make(chan struct{})
	p.waiters = append(p.waiters, c)
	return c
}

// probeRole asks NATS whether the user may send control requests: a
// service start without an id is refused by the server (bad_id, nothing
// changes) when NATS lets it through, and by NATS (a permissions
// violation) for a viewer. The page greys its controls for a viewer; NATS
// refuses their requests either way.
func (h *Handler) probeRole(ctx context.Context, nc *nats.Conn, perm *permissionWatch) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	denied := perm.wait()
	replied := make(chan bool, 1)
	go func() {
		_, err := nc.RequestWithContext(ctx, server.SubjectServiceStart, []byte(`{}`))
		replied <- err == nil
	}()
	select {
	case ok := <-replied:
		if ok {
			return roleOperator
		}
	case <-denied:
	}
	return roleViewer
}

func (h *Handler) addSession(id string, s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireLocked()
	if len(h.sessions) >= h.cfg.MaxSessions || h.ctx.Err() != nil {
		return false
	}
	h.sessions[id] = s
	return true
}

// expireLocked ends the sessions unused for SessionIdle.
func (h *Handler) expireLocked() {
	now := h.cfg.Now()
	for id, s := range h.sessions {
		if now.Sub(s.lastUsed) > h.cfg.SessionIdle {
			s.nc.Close()
			delete(h.sessions, id)
		}
	}
}

// lookup returns the request's session, touching it.
func (h *Handler) lookup(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireLocked()
	s := h.sessions[c.Value]
	if s != nil {
		s.lastUsed = h.cfg.Now()
	}
	return c.Value, s
}

// withSession guards a POST: same origin, a live session, its CSRF token.
func (h *Handler) withSession(next func(http.ResponseWriter, *http.Request, string, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r) {
			writeError(w, server.ErrWebCrossOrigin, "the request did not come from this host's page (Origin %q, Host %q)", r.Header.Get("Origin"), r.Host)
			return
		}
		id, s := h.lookup(r)
		if s == nil {
			writeError(w, server.ErrWebLoginRequired, "no session, or it ended")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(s.csrf)) != 1 {
			writeError(w, server.ErrWebCrossOrigin, "the request lacks the session's CSRF token in %s", csrfHeader)
			return
		}
		next(w, r, id, s)
	}
}

func (h *Handler) sessionInfo(w http.ResponseWriter, r *http.Request) {
	_, s := h.lookup(r)
	if s == nil {
		writeError(w, server.ErrWebLoginRequired, "no session, or it ended")
		return
	}
	writeJSON(w, http.StatusOK, sessionReply{User: s.user, Role: s.role, CSRF: s.csrf})
}

func (h *Handler) logout(w http.ResponseWriter, _ *http.Request, id string, s *session) {
	h.mu.Lock()
	delete(h.sessions, id)
	h.mu.Unlock()
	s.nc.Close()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, struct{}{})
}

// decodeBody reads a small JSON body into v, answering bad_request if it
// is not one.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, server.ErrPayloadTooLarge, "the request body is over %d bytes", maxBody)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, server.ErrBadRequest, "the body is not the JSON object this endpoint takes: %v", err)
		return false
	}
	return true
}

// forwarded are the subjects the bridge sends: the API's request subjects
// (docs/API.md). NATS decides which of them the user may send.
var forwarded = map[string]bool{}

func init() {
	for _, s := range server.RequestSubjects() {
		forwarded[s] = true
	}
}

// bridgeRequest is POST /api/request's body.
type bridgeRequest struct {
	Subject string          `json:"subject"`
	Body    json.RawMessage `json:"body"`
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request, _ string, s *session) {
	var req bridgeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !forwarded[req.Subject] {
		writeError(w, server.ErrWebUnknownSubject, "%q is not a statemgr request subject the page sends", req.Subject)
		return
	}
	body := []byte(req.Body)
	if len(body) == 0 {
		body = []byte(`{}`)
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.RequestTimeout)
	defer cancel()
	msg, err := s.nc.RequestWithContext(ctx, req.Subject, body)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		writeError(w, server.ErrUnavailable, "nothing answers on %s: statemgr is not running, or is restarting", req.Subject)
		return
	case errors.Is(err, nats.ErrPermissionViolation) || (err != nil && s.role == roleViewer):
		writeError(w, server.ErrWebPermissionDenied, "user %q may not send %s", s.user, req.Subject)
		return
	case err != nil:
		writeError(w, server.ErrUnavailable, "%s: %v", req.Subject, err)
		return
	}
	status := http.StatusOK
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		if n, err := strconv.Atoi(code); err == nil && n >= 400 && n < 600 {
			status = n
		} else {
			status = http.StatusInternalServerError
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(msg.Data)
}

// events streams the log as Server-Sent Events from ?from= or, on a
// reconnect, the seq after Last-Event-ID: client.Tail pages the log and
// follows live events with no gap and no duplicate.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	_, s := h.lookup(r)
	if s == nil {
		writeError(w, server.ErrWebLoginRequired, "no session, or it ended")
		return
	}
	var from uint64
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		n, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			writeError(w, server.ErrBadRequest, "Last-Event-ID %q is not a global sequence number", last)
			return
		}
		from = n + 1
	} else if q := r.URL.Query().Get("from"); q != "" {
		n, err := strconv.ParseUint(q, 10, 64)
		if err != nil || n == 0 {
			writeError(w, server.ErrBadRequest, "from %q is not a global sequence number (1 or more)", q)
			return
		}
		from = n
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel)
	defer stop()
	var mu sync.Mutex // Tail's emit and the heartbeat write the stream
	write := func(text string) error {
		mu.Lock()
		defer mu.Unlock()
		_ = rc.SetWriteDeadline(time.Now().Add(2 * heartbeat))
		if _, err := io.WriteString(w, text); err != nil {
			return err
		}
		return rc.Flush()
	}
	if write(": statemgr events\nretry: 1000\n\n") != nil {
		return
	}
	go func() {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if write(": alive\n\n") != nil {
					cancel()
					return
				}
			}
		}
	}()
	err := client.New(s.nc).Tail(ctx, client.TailOptions{From: from, Follow: true}, func(e server.Event) error {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return write("id: " + strconv.FormatUint(e.Seq, 10) + "\nevent: record\ndata: " + string(data) + "\n\n")
	})
	if err != nil && ctx.Err() == nil {
		// The stream ends; the page reconnects from its Last-Event-ID.
		h.cfg.Logger.Debug("event stream ended", "user", s.user, "error", err)
	}
}
