package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

var users = []server.User{
	{Name: "vera", Password: "viewer-pw", Role: server.RoleViewer},
	{Name: "otto", Password: "operator-pw", Role: server.RoleOperator},
	{Name: "sync", Password: "service-pw", Role: server.RoleService, Service: "sync"},
}

// asyncErrors collects a connection's asynchronous errors (permission
// violations arrive that way).
func asyncErrors() (nats.Option, chan error) {
	ch := make(chan error, 16)
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case ch <- err:
		default:
		}
	}), ch
}

func expectPermissionViolation(t *testing.T, errs chan error) {
	t.Helper()
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("async error %v, want a permissions violation", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no permissions violation reported")
	}
}

func TestViewerCannotControl(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: users, Platform: servicePlatform(t)})
	onErr, errs := asyncErrors()
	viewer := client.New(env.Connect(t, client.UserInfo("vera", "viewer-pw"), onErr))

	// Reads work.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := viewer.Get(ctx, "host.0"); err != nil {
		t.Fatalf("viewer read: %v", err)
	}
	// Control does not.
	for _, subject := range []string{server.SubjectHostPowerOn, server.SubjectChassisPowerOn, server.SubjectServiceStart} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := viewer.Request(ctx, subject, server.IDRequest{ID: map[string]string{
			server.SubjectHostPowerOn: "host.0", server.SubjectChassisPowerOn: "chassis.0", server.SubjectServiceStart: "service.sync"}[subject]}, nil)
		cancel()
		if err == nil {
			t.Fatalf("viewer's %s succeeded", subject)
		}
		expectPermissionViolation(t, errs)
	}
	// The log proves nothing happened: no operation, no request.
	evs, err := env.Log.ReadAll(context.Background(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if (e.Stream == coordinator.Stream && strings.HasPrefix(e.Type, "op_")) || e.Requester != "" {
			t.Fatalf("record %d (%s %s by %q) after the viewer's control attempts", e.GlobalSeq, e.Stream, e.Type, e.Requester)
		}
	}
	env.PowerChassis(t, "chassis.0")
	// A viewer follows the events of what the operator does.
	events, err := viewer.Conn().SubscribeSync(server.SubjectEventsComponents)
	if err != nil {
		t.Fatal(err)
	}
	if err := viewer.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// The PSU polls' observations may come first.
		for {
			ev, err := events.NextMsg(5 * time.Second)
			if err != nil {
				t.Errorf("viewer's event subscription never showed the operator's power on: %v", err)
				return
			}
			if strings.Contains(string(ev.Data), `"requester":"otto"`) {
				return
			}
		}
	}()
	// Discovery works for a viewer.
	if msg, err := viewer.Conn().Request("$SRV.INFO.statemgr", nil, 5*time.Second); err != nil || !strings.Contains(string(msg.Data), server.SubjectHostGet) {
		t.Fatalf("viewer $SRV.INFO: %v", err)
	}
	// The operator can control, and is recorded as the requester even when
	// it claims to be someone else.
	operatorConn := env.Connect(t, client.UserInfo("otto", "operator-pw"))
	msg := nats.NewMsg(server.SubjectHostPowerOn)
	msg.Header.Set("Nats-Request-Info", `{"acc":"CLIENTS","user":"mallory"}`)
	msg.Data = []byte(`{"id":"host.0","wait":"5s"}`)
	resp, err := operatorConn.RequestMsg(msg, 5*time.Second)
	if err != nil || client.DecodeError(resp) != nil {
		t.Fatalf("operator power on: %v, %v", err, client.DecodeError(resp))
	}
	evs, err = env.Log.ReadStream(ctx, "host.0", 2, 1)
	if err != nil || len(evs) != 1 || evs[0].Requester != "otto" {
		t.Fatalf("operator's power on recorded as %+v, %v; want requester otto", evs, err)
	}
	// Nobody gets in without credentials, and nobody from outside as the
	// daemon's in-process user.
	if _, err := nats.Connect(env.URL); err == nil {
		t.Fatal("anonymous connection accepted on a server with users")
	}
	if _, err := nats.Connect(env.URL, nats.UserInfo("statemgrd", "in-process-only")); err == nil {
		t.Fatal("the daemon's in-process user connected over TCP")
	}
}

func TestServiceRoleOnlyReportsItsOwnSelfState(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: users, Platform: servicePlatform(t)})
	onErr, errs := asyncErrors()
	nc := env.Connect(t, client.UserInfo("sync", "service-pw"), onErr)
	svc := client.New(nc)
	operator := client.New(env.Connect(t, client.UserInfo("otto", "operator-pw")))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := operator.Request(ctx, server.SubjectServiceStart, server.IDRequest{ID: "service.fan"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := operator.Request(ctx, server.SubjectServiceStart, server.IDRequest{ID: "service.sync"}, nil); err != nil {
		t.Fatal(err)
	}

	// It answers its control subject (forwarded across the accounts).
	sub, err := nc.Subscribe(server.ServiceControlSubject("sync"), func(m *nats.Msg) { _ = m.Respond([]byte(`{}`)) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	var enabled server.ControlReply
	if err := operator.Request(ctx, server.SubjectServiceEnable, server.IDRequest{ID: "service.sync"}, &enabled); err != nil || !enabled.Accepted {
		t.Fatalf("enable forwarded to the sync service user: %+v, %v", enabled, err)
	}
	if err := operator.Request(ctx, server.SubjectServiceEnable, server.IDRequest{ID: "service.fan"}, nil); !errors.Is(err, server.ErrUnsupported) {
		t.Fatalf("enable of a service nobody answers for: %v", err)
	}
	// Its own self-state goes through.
	var comp server.Component
	if err := svc.Request(ctx, server.ServiceSelfStateSubject("sync"), server.SelfStateRequest{Event: "initialized"}, &comp); err != nil || comp.State != "Running" {
		t.Fatalf("own selfstate: %+v, %v", comp, err)
	}
	// Another service's self-state, a read and a control do not.
	for _, subject := range []string{server.ServiceSelfStateSubject("fan"), server.SubjectHostGet, server.SubjectHostPowerOn} {
		if err := nc.Publish(subject, []byte(`{"state":"initialized","id":"host.0"}`)); err != nil {
			t.Fatal(err)
		}
		expectPermissionViolation(t, errs)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	fan, err := operator.Get(ctx, "service.fan")
	if err != nil || fan.State != "Starting" {
		t.Fatalf("service.fan after sync's forged report: %+v, %v", fan, err)
	}
	if head, _ := env.Log.StreamHead(ctx, "host.0"); head != 1 {
		t.Fatalf("host.0 changed by a service user")
	}
}

func TestNoUsersMeansLoopbackOnly(t *testing.T) {
	if _, err := server.StartNATS(server.NATSConfig{Host: "0.0.0.0", Port: -1}); err == nil {
		t.Fatal("embedded NATS listened on all interfaces without users")
	}
	if _, err := server.StartNATS(server.NATSConfig{Port: -1, Users: []server.User{{Name: "x", Password: "y", Role: "admin"}}}); err == nil {
		t.Fatal("unknown role accepted")
	}
}

// With users, a listener beyond loopback needs TLS or an explicit
// AllowCleartext: otherwise passwords cross the network in clear.
func TestUsersBeyondLoopbackNeedTLS(t *testing.T) {
	viewer := []server.User{{Name: "vera", Password: "viewer-pw", Role: server.RoleViewer}}
	for _, tc := range []struct {
		name    string
		cfg     server.NATSConfig
		refused bool
	}{
		{"all interfaces, cleartext", server.NATSConfig{Host: "0.0.0.0", Port: -1, Users: viewer}, true},
		{"all interfaces, cleartext allowed", server.NATSConfig{Host: "0.0.0.0", Port: -1, Users: viewer, AllowCleartext: true}, false},
		{"loopback, cleartext", server.NATSConfig{Host: "127.0.0.1", Port: -1, Users: viewer}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, err := server.StartNATS(tc.cfg)
			if ns != nil {
				ns.Shutdown()
			}
			if got := errors.Is(err, server.ErrCleartextCredentials); got != tc.refused {
				t.Fatalf("StartNATS = %v; refused as cleartext: %v, want %v", err, got, tc.refused)
			}
			if !tc.refused && err != nil {
				t.Fatalf("StartNATS = %v", err)
			}
		})
	}
}

// No user can read another's replies: each may subscribe only under its
// own inbox prefix, so a viewer neither subscribes to _INBOX.> nor to the
// operator's inbox, and hears none of the operator's replies (issue 23
// item 7).
func TestViewerCannotReadOperatorsReplies(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: users, Platform: servicePlatform(t)})
	env.PowerChassis(t, "chassis.0")
	onErr, errs := asyncErrors()
	spy := env.Connect(t, client.UserInfo("vera", "viewer-pw"), onErr)
	overheard := make(chan *nats.Msg, 16)
	for _, subject := range []string{"_INBOX.>", server.InboxPrefix("otto") + ".>", ">"} {
		if _, err := spy.ChanSubscribe(subject, overheard); err != nil {
			t.Fatal(err)
		}
		expectPermissionViolation(t, errs)
	}
	// A viewer that connects with the default inbox prefix gets no reply
	// at all, not someone else's.
	if _, err := env.Connect(t, nats.UserInfo("vera", "viewer-pw")).Request(server.SubjectHostGet, []byte(`{"id":"host.0"}`), time.Second); err == nil {
		t.Fatal("a viewer read a reply under the shared _INBOX prefix")
	}

	operator := client.New(env.Connect(t, client.UserInfo("otto", "operator-pw")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var reply server.ControlReply
	if err := operator.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", Operation: "private-op", Wait: "5s"}, &reply); err != nil || !reply.Accepted {
		t.Fatalf("operator power on: %+v, %v", reply, err)
	}
	if _, err := operator.Get(ctx, "host.0"); err != nil {
		t.Fatalf("operator read: %v", err)
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-overheard:
		t.Fatalf("the viewer read %s: %s", m.Subject, m.Data)
	default:
	}
}

// A user name is one subject token, as its inbox prefix needs.
func TestUserNameMustBeASubjectToken(t *testing.T) {
	for _, name := range []string{"ve.ra", "*", "a>", "two words"} {
		ns, err := server.StartNATS(server.NATSConfig{Port: -1, Users: []server.User{{Name: name, Password: "pw", Role: server.RoleViewer}}})
		if err == nil {
			ns.Shutdown()
			t.Fatalf("user name %q accepted", name)
		}
		if !strings.Contains(err.Error(), "subject token") {
			t.Fatalf("user name %q refused with %v, want it to say why", name, err)
		}
	}
}
