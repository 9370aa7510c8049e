// Package server is statemgr's NATS interface: a nats.go/micro service named
// "statemgr" with one endpoint per subject (docs/API.md lists them), an event
// publisher, and the embedded NATS server the daemon runs by default.
//
// Assembly (the daemon does this):
//
//	ns, _ := server.StartNATS(server.NATSConfig{Users: users, Logger: logger})
//	nc, _ := server.ConnectInProcess(ns)
//	srv, _ := server.New(server.Config{Conn: nc, System: sys, Log: log, Platform: plat, Logger: logger,
//		TrustRequestInfo: len(users) > 0})
//	_ = srv.Start()
//	...
//	_ = srv.Stop() // stop intake, finish in-flight requests, stop publishing
//	sys.Stop(); log.Close(); nc.Drain(); ns.Shutdown()
//
// Contract:
//
//  1. Requests are JSON objects naming the component as "id" ("host.0").
//     Malformed JSON, unknown or wrong-case fields, repeated fields, a bad
//     or unknown id, an id of the wrong kind for the subject, oversize
//     bodies and bodies past MaxJSONDepth or MaxJSONValues are refused
//     with a catalogued error before a full decode; decoding never panics.
//     Every request's cost is bounded (docs/API.md, Limits): platform
//     sources by platform.CheckLimits, schedules by MaxScheduleAhead, a
//     service's self-state reports by MaxSelfStateText and a token bucket,
//     a host's events (statemgr.input.host.<host>) by MaxInputSize and the
//     same bucket, per host.
//     Each endpoint's micro metadata declares its request's schema and
//     size limit ("request", "max_bytes"), from the type its handler
//     decodes; package server/campaign sends hostile bodies built from them.
//  2. Errors come from one catalogue (errors.json, mirrored in errors.go):
//     the HTTP-like status in micro's Nats-Service-Error-Code header, the
//     stable numeric code in Statemgr-Error-Code (HeaderErrorCode), the
//     message in Nats-Service-Error, and an ErrorReply JSON body with the
//     code,
//     name, message, hint and, for rejections, the state and the allowed
//     requests. Clients must check the headers: nats.Conn.Request returns
//     no error for an error reply.
//  3. Endpoint handlers never block the endpoint's subscription: each
//     request is handled on its own goroutine, bounded by
//     Config.MaxInFlight.
//  4. A control request is answered once the component has durably accepted
//     it, with the operation id and the accepted state. The client may name
//     the operation ("operation"): a retry with the same id gets the first
//     outcome and is never applied twice. "wait" makes the reply wait for
//     the final outcome, read from the log: succeeded, failed or timed_out.
//     ErrUnavailable means the outcome is unknown: retry with the same id.
//  5. Events are published only after they are durable: the publisher
//     follows the log (Log.Subscribe from its head at Start) and publishes
//     each record on statemgr.events.<kind>.<name> and, by type, on
//     statemgr.events.transitions, .errors and .alerts, with the headers
//     Nats-Msg-Id (<stream>/<stream seq>) and Statemgr-Seq (global seq).
//     Publishing is best-effort; subscribers that see a gap page the log
//     through statemgr.log.replay and drop seqs they have seen.
//  6. Guard facts (chassis_on, bmc_ready, ...) are computed from the
//     related components' last durable states with the coordinator's own
//     function (coordinator.Facts). A view's "allowed" is evaluated with
//     the same facts when it is rendered, less the requests an operation
//     in flight would refuse busy (Operations.Busy, listed in "busy"), so
//     it is what a control request would be accepted for at that moment.
//  7. No reply is larger than the connection's max payload (less
//     replyHeadroom for headers): a reply that grows with data (lists,
//     system status, history, log replay, validate) is cut to the items
//     that fit, with "more": true and the cursor "next" to send back as
//     "from"; an item too large alone is ErrReplyTooLarge. A reply that
//     cannot be sent is logged, rate-limited.
//  8. Checkpoints (statemgr.checkpoint.create, .list, .show, .delete) go
//     through Config.Checkpoints (snapshots/checkpoint's Manager); without
//     one they answer ErrCheckpointsNotConfigured. A create runs on its
//     own goroutine and in-flight slot, bounded by MaxCheckpointTime, and
//     copies the log in one read transaction, so other requests go on.
//     statemgr.checkpoint.restore goes to Config.Restorer (the daemon,
//     which stops this Server and starts another over the restored log):
//     its handler marks the Server restoring under the lock that admits
//     requests, so every later control request is refused
//     ErrRestoreInProgress, and waits for the control requests in flight;
//     it is not counted in flight itself, since the Stop the daemon calls
//     waits for those.
//  9. statemgr.config.get and statemgr.config.set go to Config.Configurer
//     (the daemon). A set is validated here as statemgr.validate does
//     (ErrBadPlatform with each located problem), then handled as a
//     restore is: exclusive (control requests are refused
//     ErrConfigInProgress), not counted in flight, the daemon stopping
//     this Server and starting another on the new platform. A daemon with
//     no platform yet runs an unconfigured Server (Config.Unconfigured):
//     no components, the lists answer empty, statemgr.validate and the
//     config subjects are served, and every other subject answers
//     ErrNotConfigured.
//
// The embedded NATS server (StartNATS) listens on 127.0.0.1:4222 by default.
// Users get one of three roles: viewer (read and subscribe), operator (also
// control) and service (report its own self-state only). Without users it
// refuses to listen beyond loopback. With users, the daemon's connection is
// alone in its own account and the users reach it through service imports
// that share the requester's identity: nats-server then stamps every request
// with the authenticated user (Nats-Request-Info), which the Server records
// as the requester when Config.TrustRequestInfo is set. With TLS
// (ServerTLS builds it from checked PEM files; ClientTLS is the client's
// side) the daemon's own connection stays in process and plain
// (ConnectInProcess), so any certificate clients trust serves: a private
// CA's or a self-signed one, with or without an IP SAN for 127.0.0.1.
package server
