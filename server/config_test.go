package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// heldConfigurer stands for the daemon's platform change (which stops
// this server: cmd/statemgrd's tests run it whole): it says when it is
// entered and returns once released.
type heldConfigurer struct {
	inForce server.PlatformConfig
	entered chan server.PlatformChange
	release chan struct{}
}

func newHeldConfigurer() *heldConfigurer {
	return &heldConfigurer{inForce: server.PlatformConfig{Configured: true, Origin: server.OriginDefault},
		entered: make(chan server.PlatformChange, 1), release: make(chan struct{})}
}

func (h *heldConfigurer) PlatformInForce() server.PlatformConfig { return h.inForce }

func (h *heldConfigurer) SetPlatform(ctx context.Context, change server.PlatformChange, _ string) (server.ConfigSetReply, error) {
	h.entered <- change
	select {
	case <-h.release:
		return server.ConfigSetReply{Platform: server.PlatformConfig{Configured: true, Origin: server.OriginAPI, BMC: change.Platform.BMC.Name}}, nil
	case <-ctx.Done():
		return server.ConfigSetReply{}, ctx.Err()
	}
}

// TestConfigSetRefusesControlsWhileItRuns: a platform that does not
// validate is refused bad_platform, located, before the daemon's part
// runs; a valid one reaches it parsed, and while it runs every control
// request (a restore too) is refused config_in_progress and reads are
// answered; once it ends, control requests are taken again.
func TestConfigSetRefusesControlsWhileItRuns(t *testing.T) {
	cf := newHeldConfigurer()
	env := servertest.Start(t, servertest.Options{Server: server.Config{Configurer: cf}})
	cl := client.New(env.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	err := cl.Request(ctx, server.SubjectConfigSet, server.ConfigSetRequest{Name: "p.hcl", Source: "bmc \"0\" {\n  nonsense =\n}\n"}, nil)
	if !errors.Is(err, server.ErrBadPlatform) || !strings.Contains(err.Error(), "p.hcl:2") {
		t.Fatalf("a bad platform: %v, want bad_platform located at p.hcl:2", err)
	}
	set := make(chan error, 1)
	go func() {
		set <- cl.Request(ctx, server.SubjectConfigSet, server.ConfigSetRequest{Source: string(platform.DefaultSource()), Replace: true}, nil)
	}()
	change := <-cf.entered
	if !change.Replace || change.Platform == nil || change.Name != "platform.hcl" || string(change.Source) != string(platform.DefaultSource()) {
		t.Fatalf("the daemon got %+v", change)
	}
	for subject, req := range map[string]any{
		server.SubjectChassisPowerOn:    server.ControlRequest{ID: "chassis.0"},
		server.SubjectCheckpointRestore: server.CheckpointRestoreRequest{ID: "20261207T132200.000Z-1234"},
		server.SubjectConfigSet:         server.ConfigSetRequest{Source: string(platform.DefaultSource())},
	} {
		if err := cl.Request(ctx, subject, req, nil); !errors.Is(err, server.ErrConfigInProgress) {
			t.Errorf("%s during a config set: %v, want config_in_progress", subject, err)
		}
	}
	var got server.PlatformConfig
	if err := cl.Request(ctx, server.SubjectConfigGet, server.ConfigGetRequest{}, &got); err != nil || got != cf.inForce {
		t.Fatalf("config get during a config set: %+v %v", got, err)
	}
	close(cf.release)
	if err := <-set; err != nil {
		t.Fatal(err)
	}
	if err := cl.Request(ctx, server.SubjectChassisPowerOn, server.ControlRequest{ID: "chassis.0"}, nil); errors.Is(err, server.ErrConfigInProgress) {
		t.Fatalf("a control request after the config set: %v", err)
	}
}

// TestUnconfiguredServer: an unconfigured Server answers every request
// subject: the lists with no components, validate and the config
// subjects as always, every other one not_configured.
func TestUnconfiguredServer(t *testing.T) {
	ns, err := server.StartNATS(server.NATSConfig{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := server.ConnectInProcess(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cf := newHeldConfigurer()
	cf.inForce = server.PlatformConfig{}
	if _, err := server.New(server.Config{Conn: nc, Unconfigured: true}); err == nil {
		t.Fatal("an unconfigured Server without a Configurer was built")
	}
	srv, err := server.New(server.Config{Conn: nc, Configurer: cf, Unconfigured: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	cl := client.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	served := map[string]func(error, map[string]any) bool{
		server.SubjectComponentsList: emptyList,
		server.SubjectHostsList:      emptyList,
		server.SubjectServicesList:   emptyList,
		// Validate and config set take a source; without one they are
		// bad requests, not refused unconfigured.
		server.SubjectValidate:  func(err error, _ map[string]any) bool { return errors.Is(err, server.ErrBadRequest) },
		server.SubjectConfigSet: func(err error, _ map[string]any) bool { return errors.Is(err, server.ErrBadRequest) },
		server.SubjectConfigGet: func(err error, r map[string]any) bool { return err == nil && r["configured"] == false },
	}
	for _, subject := range server.RequestSubjects() {
		var reply map[string]any
		err := cl.RequestRaw(ctx, subject, []byte(`{}`), &reply)
		if ok := served[subject]; ok != nil {
			if !ok(err, reply) {
				t.Errorf("%s unconfigured: %v %v", subject, reply, err)
			}
			continue
		}
		if !errors.Is(err, server.ErrNotConfigured) {
			t.Errorf("%s unconfigured: %v, want not_configured", subject, err)
		}
	}
}

func emptyList(err error, r map[string]any) bool {
	comps, ok := r["components"].([]any)
	return err == nil && ok && len(comps) == 0
}
