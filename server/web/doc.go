// Package web is statemgrd's Service Manager page and power panel: a page
// of hand-written HTML, CSS and JavaScript embedded in the binary (no build
// step, nothing fetched from elsewhere) and a small HTTP JSON bridge that
// forwards the page's requests to statemgr's NATS subjects with the user's
// own NATS connection, so NATS enforces the roles exactly as it does for
// the CLI: a viewer reads, an operator also acts.
//
// Routes (Mount puts them beside /metrics, /healthz and /readyz):
//
//	GET  /                the page; GET /static/... its script and style
//	POST /api/login       {"user","password"}: connects to NATS as that user
//	                      (no user: anonymously, which NATS refuses when it
//	                      has users); sets an HttpOnly, SameSite=Strict
//	                      session cookie and returns the CSRF token and role
//	GET  /api/session     the session's user, role and CSRF token
//	POST /api/logout      ends the session and its NATS connection
//	POST /api/request     {"subject","body"}: one request on a statemgr
//	                      subject; the reply, or the catalogued error with
//	                      its HTTP-like status
//	GET  /api/events      Server-Sent Events of the log from ?from= or
//	                      Last-Event-ID + 1, with no gap and no duplicate
//	                      (client.Tail); the event id is the global seq
//
// Security: every POST needs an Origin (or, lacking it, a Referer) of the
// page's own host, and every POST but login the session's CSRF token in
// X-Statemgr-CSRF; GETs change nothing. Passwords live only in the login
// request and the session's NATS connection, never in the page or a URL.
// Sessions are bounded in number, end after Config.SessionIdle unused and
// when the daemon stops (Close).
package web
