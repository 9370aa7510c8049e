package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
	"github.com/statemgr/statemgr/server/web"
)

var testUsers = []server.User{
	{Name: "vera", Password: "viewer-secret", Role: server.RoleViewer},
	{Name: "otto", Password: "operator-secret", Role: server.RoleOperator},
}

// startPage serves the page against a real server on an embedded NATS
// server, reaching it in process as the daemon does.
func startPage(t *testing.T, users []server.User) (*servertest.Env, *httptest.Server) {
	t.Helper()
	env := servertest.Start(t, servertest.Options{Users: users})
	page := web.New(web.Config{UsersRequired: len(users) > 0, Dial: func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(env.NATS.ClientURL(), append(opts, nats.InProcessServer(env.NATS))...)
	}})
	ts := httptest.NewServer(web.Mount(page, http.NotFoundHandler()))
	t.Cleanup(func() { ts.Close(); page.Close() })
	return env, ts
}

// browser is a same-origin page's HTTP client: a cookie jar, the Origin
// header a browser sends, and the CSRF token once logged in.
type browser struct {
	t      *testing.T
	c      *http.Client
	base   string
	origin string
	csrf   string
}

func newBrowser(t *testing.T, ts *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 15 * time.Second}, base: ts.URL, origin: ts.URL}
}

// post sends body as JSON and returns the status and decoded reply.
func (b *browser) post(path string, body any) (int, map[string]any) {
	b.t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(string(data)))
	req.Header.Set("Content-Type", "application/json")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	if b.csrf != "" {
		req.Header.Set("X-Statemgr-CSRF", b.csrf)
	}
	return b.do(req)
}

func (b *browser) do(req *http.Request) (int, map[string]any) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&reply)
	return resp.StatusCode, reply
}

func (b *browser) login(user, password string) map[string]any {
	b.t.Helper()
	status, reply := b.post("/api/login", map[string]string{"user": user, "password": password})
	if status != http.StatusOK {
		b.t.Fatalf("login %q: %d %v", user, status, reply)
	}
	b.csrf, _ = reply["csrf"].(string)
	return reply
}

func (b *browser) request(subject string, body any) (int, map[string]any) {
	b.t.Helper()
	return b.post("/api/request", map[string]any{"subject": subject, "body": body})
}

// errorName is a catalogued error reply's name.
func errorName(reply map[string]any) string {
	e, _ := reply["error"].(map[string]any)
	name, _ := e["name"].(string)
	return name
}

func wantError(t *testing.T, what string, status int, reply map[string]any, kind *server.ErrorKind) {
	t.Helper()
	if status != kind.Status || errorName(reply) != kind.Name() {
		t.Fatalf("%s: %d %v, want %d %s", what, status, reply, kind.Status, kind.Name())
	}
	if e := reply["error"].(map[string]any); e["message"] == "" || e["hint"] == "" {
		t.Fatalf("%s: the error lacks its message or hint: %v", what, reply)
	}
}

func TestUsersConfiguredMeansNoAnonymousControl(t *testing.T) {
	_, ts := startPage(t, testUsers)
	b := newBrowser(t, ts)
	status, reply := b.post("/api/login", map[string]string{})
	wantError(t, "anonymous login", status, reply, server.ErrWebLoginRequired)
	status, reply = b.request(server.SubjectHostPowerOn, map[string]string{"id": "host.0"})
	wantError(t, "control without a session", status, reply, server.ErrWebLoginRequired)
	status, reply = b.post("/api/login", map[string]string{"user": "otto", "password": "wrong"})
	wantError(t, "wrong password", status, reply, server.ErrWebBadCredentials)
}

func TestViewerReadsButCannotActOperatorActs(t *testing.T) {
	_, ts := startPage(t, testUsers)
	viewer := newBrowser(t, ts)
	if role := viewer.login("vera", "viewer-secret")["role"]; role != "viewer" {
		t.Fatalf("vera's role: %v, want viewer", role)
	}
	if status, reply := viewer.request(server.SubjectSystemStatus, nil); status != http.StatusOK || reply["components"] == nil {
		t.Fatalf("viewer's status read: %d %v", status, reply)
	}
	status, reply := viewer.request(server.SubjectChassisPowerOn, map[string]string{"id": "chassis.0"})
	wantError(t, "viewer's power on", status, reply, server.ErrWebPermissionDenied)

	operator := newBrowser(t, ts)
	if role := operator.login("otto", "operator-secret")["role"]; role != "operator" {
		t.Fatalf("otto's role: %v, want operator", role)
	}
	// Refused by the server, not the bridge: the catalogued interlock
	// with its message and hint.
	status, reply = operator.request(server.SubjectHostPowerOn, map[string]string{"id": "host.0"})
	wantError(t, "host on with the chassis off", status, reply, server.ErrInterlock)
	status, reply = operator.request(server.SubjectChassisPowerOn, map[string]any{"id": "chassis.0", "wait": "5s"})
	if status != http.StatusOK || reply["outcome"].(map[string]any)["result"] != "succeeded" {
		t.Fatalf("operator's chassis power on: %d %v", status, reply)
	}
}

func TestPostsNeedSameOriginAndToken(t *testing.T) {
	_, ts := startPage(t, nil)
	b := newBrowser(t, ts)
	b.origin = "http://evil.example"
	status, reply := b.post("/api/login", map[string]string{})
	wantError(t, "cross-origin login", status, reply, server.ErrWebCrossOrigin)
	b.origin = ""
	status, reply = b.post("/api/login", map[string]string{})
	wantError(t, "login without Origin", status, reply, server.ErrWebCrossOrigin)

	b.origin = ts.URL
	b.login("", "")
	token := b.csrf
	b.csrf = ""
	status, reply = b.request(server.SubjectChassisPowerOn, map[string]string{"id": "chassis.0"})
	wantError(t, "control without the CSRF token", status, reply, server.ErrWebCrossOrigin)
	b.csrf = "not-the-token"
	status, reply = b.request(server.SubjectChassisPowerOn, map[string]string{"id": "chassis.0"})
	wantError(t, "control with a wrong token", status, reply, server.ErrWebCrossOrigin)
	b.csrf, b.origin = token, "http://evil.example"
	status, reply = b.request(server.SubjectChassisPowerOn, map[string]string{"id": "chassis.0"})
	wantError(t, "cross-origin control with the token", status, reply, server.ErrWebCrossOrigin)

	// GET changes nothing: the bridge takes no GET.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/request?subject="+server.SubjectChassisPowerOn, nil)
	if status, _ := b.do(req); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET /api/request: %d, want 405", status)
	}
	b.origin = ts.URL
	if status, reply := b.request(server.SubjectChassisGet, map[string]string{"id": "chassis.0"}); status != http.StatusOK || reply["state"] != "Off" {
		t.Fatalf("chassis after the refused requests: %d %v, want Off", status, reply)
	}
	status, reply = b.request("statemgr.events.transitions", nil)
	wantError(t, "a subject the bridge does not send", status, reply, server.ErrWebUnknownSubject)
}

func TestSecretsStayOutOfThePageAndURLs(t *testing.T) {
	_, ts := startPage(t, testUsers)
	b := newBrowser(t, ts)
	data, _ := json.Marshal(map[string]string{"user": "otto", "password": "operator-secret"})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/login", strings.NewReader(string(data)))
	req.Header.Set("Origin", ts.URL)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "operator-secret") {
		t.Fatalf("the login reply holds the password: %s", body)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || strings.Contains(cookies[0].Value, "secret") {
		t.Fatalf("session cookie: %+v, want one HttpOnly SameSite=Strict cookie", cookies)
	}
	for _, path := range []string{"/", "/static/app.js", "/static/app.css"} {
		resp, err := b.c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(string(page), "secret") || strings.Contains(string(page), "//cdn") {
			t.Fatalf("GET %s: %d, or it names a secret or a CDN", path, resp.StatusCode)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
}

// readEvents reads n record events from an SSE stream, returning their ids.
func readEvents(t *testing.T, r *bufio.Reader, n int) []uint64 {
	t.Helper()
	var ids []uint64
	for len(ids) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after events %v: %v", ids, err)
		}
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "id: "); ok {
			seq, err := strconv.ParseUint(id, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, seq)
		}
	}
	return ids
}

func openEvents(t *testing.T, b *browser, ctx context.Context, query, lastID string) *bufio.Reader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/api/events"+query, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return bufio.NewReader(resp.Body)
}

func TestEventsResumeFromLastEventIDWithNoGapOrDuplicate(t *testing.T) {
	env, ts := startPage(t, nil)
	b := newBrowser(t, ts)
	b.login("", "")
	env.PowerChassis(t, "chassis.0")
	ctx, cancel := context.WithCancel(context.Background())
	first := readEvents(t, openEvents(t, b, ctx, "?from=1", ""), 3)
	cancel()
	// Events written while the page was away are paged from the log.
	if status, reply := b.request(server.SubjectChassisPowerOff, map[string]any{"id": "chassis.0", "wait": "5s"}); status != http.StatusOK {
		t.Fatalf("chassis power off: %d %v", status, reply)
	}
	env.WaitPublished(t)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	stream := openEvents(t, b, ctx2, "", strconv.FormatUint(first[len(first)-1], 10))
	head, err := env.Log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rest := readEvents(t, stream, int(head)-len(first))
	all := append(first, rest...)
	for i, seq := range all {
		if seq != uint64(i+1) {
			t.Fatalf("event ids %v: want 1..%d in order, each once", all, head)
		}
	}
	// And live ones follow.
	env.PowerChassis(t, "chassis.0")
	if next := readEvents(t, stream, 1); next[0] != head+1 {
		t.Fatalf("live event %v, want %d", next, head+1)
	}
	status, reply := b.post("/api/logout", map[string]string{})
	if status != http.StatusOK {
		t.Fatalf("logout: %d %v", status, reply)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/events", nil)
	if status, reply := b.do(req); status != http.StatusUnauthorized {
		t.Fatalf("events after logout: %d %v", status, reply)
	}
}

// The daemon's listener times a request's read out after 10 s; a stream
// of events must outlive that.
func TestEventStreamOutlivesTheReadTimeout(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	page := web.New(web.Config{Dial: func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(env.NATS.ClientURL(), append(opts, nats.InProcessServer(env.NATS))...)
	}})
	ts := httptest.NewUnstartedServer(web.Mount(page, http.NotFoundHandler()))
	ts.Config.ReadTimeout = 200 * time.Millisecond
	ts.Start()
	t.Cleanup(func() { ts.Close(); page.Close() })
	b := newBrowser(t, ts)
	b.login("", "")
	head, err := env.Log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := openEvents(t, b, ctx, "?from="+strconv.FormatUint(head+1, 10), "")
	time.Sleep(4 * ts.Config.ReadTimeout)
	env.PowerChassis(t, "chassis.0")
	if got := readEvents(t, stream, 1); got[0] != head+1 {
		t.Fatalf("first event %v, want %d", got, head+1)
	}
}
