package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

// usersBlock gives the embedded server an operator and a viewer.
const usersBlock = `  user "olga" {
    password = "operator-pw"
    role     = "operator"
  }
  user "vera" {
    password = "viewer-pw"
    role     = "viewer"
  }
`

// userClient connects to url as user.
func userClient(t *testing.T, url, user, password string, opts ...nats.Option) *client.Client {
	t.Helper()
	nc, err := nats.Connect(url, append(opts, nats.UserInfo(user, password), nats.CustomInboxPrefix(server.InboxPrefix(user)))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return client.New(nc)
}

// variant is the built-in platform with a comment line, so that each
// variant has its own text and SHA-256.
func variant(n string) string { return string(platform.DefaultSource()) + "\n# variant " + n + "\n" }

func sha(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

func configOf(t *testing.T, ctx context.Context, cl *client.Client) server.PlatformConfig {
	t.Helper()
	var got server.PlatformConfig
	if err := cl.Request(ctx, server.SubjectConfigGet, server.ConfigGetRequest{}, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

func componentCount(t *testing.T, ctx context.Context, cl *client.Client) int {
	t.Helper()
	var list server.ComponentList
	if err := cl.Request(ctx, server.SubjectComponentsList, server.ListRequest{}, &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Components)
}

func setPlatform(ctx context.Context, cl *client.Client, text string, replace bool) (server.ConfigSetReply, error) {
	var reply server.ConfigSetReply
	err := cl.Request(ctx, server.SubjectConfigSet, server.ConfigSetRequest{Name: "mine.hcl", Source: text, Replace: replace}, &reply)
	return reply, err
}

// TestUnconfiguredDaemonTakesItsPlatformThroughTheAPI: a daemon started
// unconfigured serves no components and refuses control requests
// not_configured; an operator's config set (a viewer's is refused)
// starts the components on the platform, which is persisted and in force
// after a restart on the same data directory; a second set is refused
// without replace, and with it while a host is on; once every host is
// Off the platform is replaced.
func TestUnconfiguredDaemonTakesItsPlatformThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	d := runDaemonOn(t, dir, usersBlock, "unconfigured = true\n", false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	violations := make(chan error, 4)
	op := userClient(t, d.natsURL, "olga", "operator-pw")
	viewer := userClient(t, d.natsURL, "vera", "viewer-pw", nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case violations <- err:
		default:
		}
	}))

	if got := configOf(t, ctx, viewer); got.Configured {
		t.Fatalf("config get of an unconfigured daemon: %+v", got)
	}
	if n := componentCount(t, ctx, viewer); n != 0 {
		t.Fatalf("an unconfigured daemon lists %d components", n)
	}
	for subject, req := range map[string]any{
		server.SubjectHostPowerOn:       server.ControlRequest{ID: "host.0"},
		server.SubjectSystemStatus:      server.StatusRequest{},
		server.SubjectCheckpointRestore: server.CheckpointRestoreRequest{ID: "20261207T132200.000Z-1"},
	} {
		err := op.Request(ctx, subject, req, nil)
		if !errors.Is(err, server.ErrNotConfigured) || !strings.Contains(err.Error(), "statemgr config set") {
			t.Errorf("%s unconfigured: %v, want not_configured naming statemgr config set", subject, err)
		}
	}
	// Refused before anything is stored: a file that does not validate
	// (its errors located), one past the size limit, a viewer's.
	if _, err := setPlatform(ctx, op, "bmc \"b\" {\n  nonsense = \n}\n", false); !errors.Is(err, server.ErrBadPlatform) || !strings.Contains(err.Error(), "mine.hcl:2") {
		t.Errorf("bad platform: %v, want bad_platform located at mine.hcl:2", err)
	}
	if _, err := setPlatform(ctx, op, strings.Repeat("#", server.MaxConfigSetSize), false); !errors.Is(err, server.ErrPayloadTooLarge) {
		t.Errorf("oversized platform: %v, want payload_too_large", err)
	}
	vctx, vcancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := setPlatform(vctx, viewer, variant("viewer"), false)
	vcancel()
	if err == nil {
		t.Fatal("a viewer set the platform")
	}
	select {
	case v := <-violations:
		if !errors.Is(v, nats.ErrPermissionViolation) || !strings.Contains(v.Error(), server.SubjectConfigSet) {
			t.Fatalf("a viewer's set: %v", v)
		}
	case <-ctx.Done():
		t.Fatal("a viewer's set: no permissions violation")
	}
	if got := configOf(t, ctx, op); got.Configured {
		t.Fatalf("refused sets configured the daemon: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, persistedPlatform)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused set left %s: %v", persistedPlatform, err)
	}

	// The first platform goes through the CLI.
	first := variant("1")
	file := filepath.Join(t.TempDir(), "mine.hcl")
	if err := os.WriteFile(file, []byte(first), 0o600); err != nil {
		t.Fatal(err)
	}
	statemgr := func(user, password string, args ...string) (int, string) {
		var out bytes.Buffer
		base := []string{"statemgr", "--server", d.natsURL, "--user", user, "--password", password, "--timeout", "10s", "--output", "json"}
		code := multicall(append(base, args...), &out, &out)
		return code, out.String()
	}
	code, out := statemgr("olga", "operator-pw", "config", "set", file)
	var reply server.ConfigSetReply
	if err := json.Unmarshal([]byte(out), &reply); code != 0 || err != nil {
		t.Fatalf("statemgr config set: exit %d, %v\n%s", code, err, out)
	}
	if reply.Platform.Origin != server.OriginAPI || reply.Platform.SHA256 != sha(first) || reply.Replaced != nil || len(reply.Components) == 0 {
		t.Fatalf("first set: %+v", reply)
	}
	if n := componentCount(t, ctx, viewer); n != len(reply.Components) {
		t.Fatalf("list shows %d components, the set started %d", n, len(reply.Components))
	}
	if code, out := statemgr("olga", "operator-pw", "config", "set", file); code == 0 || !strings.Contains(out, "already_configured") {
		t.Fatalf("second statemgr config set without --replace: exit %d\n%s", code, out)
	}
	var got server.PlatformConfig
	code, out = statemgr("vera", "viewer-pw", "config", "get")
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.Source != first || got.Origin != server.OriginAPI {
		t.Fatalf("statemgr config get as a viewer: exit %d, %v\n%s", code, err, out)
	}

	// The platform set is in force after a restart, unconfigured = true
	// notwithstanding.
	d.stop()
	d = runDaemonOn(t, dir, usersBlock, "unconfigured = true\n", true)
	op = userClient(t, d.natsURL, "olga", "operator-pw")
	if got := configOf(t, ctx, op); got.Origin != server.OriginAPI || got.SHA256 != sha(first) || got.Source != first ||
		got.File != filepath.Join(dir, persistedPlatform) {
		t.Fatalf("after the restart, config get: %+v", got)
	}

	if err := op.Request(ctx, server.SubjectHostPowerOn, server.ControlRequest{ID: "host.0", PowerChassis: true, Wait: "30s"}, nil); err != nil {
		t.Fatal(err)
	}
	second := variant("2")
	if _, err := setPlatform(ctx, op, second, true); !errors.Is(err, server.ErrHostsRunning) || !strings.Contains(err.Error(), "host.0 (Running)") {
		t.Fatalf("replace with host.0 on: %v, want hosts_running naming host.0", err)
	}
	if err := op.Request(ctx, server.SubjectHostPowerOff, server.ControlRequest{ID: "host.0", Type: "ForceOff", Wait: "30s"}, nil); err != nil {
		t.Fatal(err)
	}
	if reply, err = setPlatform(ctx, op, second, true); err != nil {
		t.Fatal(err)
	}
	if reply.Platform.SHA256 != sha(second) || reply.Replaced == nil || reply.Replaced.SHA256 != sha(first) {
		t.Fatalf("replace: %+v", reply)
	}
	if got := configOf(t, ctx, op); got.SHA256 != sha(second) || componentCount(t, ctx, op) != len(reply.Components) {
		t.Fatalf("after the replace, config get: %+v", got)
	}
}

// TestSIGKILLAfterPersistStartsOnTheNewPlatform: a daemon (a real child
// process) SIGKILLed once it has persisted a platform replacement, while
// its components stop for it, starts on the new platform.
func TestSIGKILLAfterPersistStartsOnTheNewPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	args := "-data-dir " + dir + " -http-listen " + httpAddr + " -nats-listen " + natsAddr
	child, childLog := startChildDaemon(t, args)
	waitReady(t, "http://"+httpAddr+"/readyz")
	cl := demoClient(t, natsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got := configOf(t, ctx, cl); got.Origin != server.OriginDefault {
		t.Fatalf("a daemon without a platform file runs %+v, want the built-in default", got)
	}
	next := variant("crash")
	go func() { _, _ = setPlatform(ctx, cl, next, true) }()
	waitFor(t, "the platform persisted", func() bool { return strings.Contains(childLog.String(), "platform persisted") })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if strings.Contains(childLog.String(), "platform set") {
		t.Log("the kill came after the components had started on the new platform")
	}

	d := runDaemonOn(t, dir, "", "", true)
	nc, err := nats.Connect(d.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := configOf(t, ctx, client.New(nc)); got.Origin != server.OriginAPI || got.SHA256 != sha(next) {
		t.Fatalf("after the kill, config get: %+v, want the persisted platform %s", got, sha(next))
	}
}
