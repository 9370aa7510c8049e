package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
)

// testVersion is the version the tests run the CLI as.
const testVersion = "0.0.0-test"

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// cliBinary builds statemgr once for the package's tests.
func cliBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := exec.Command("mktemp", "-d").Output()
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(strings.TrimSpace(string(dir)), "statemgr")
		if out, err := exec.Command("go", "build", "-o", binary, "github.com/statemgr/statemgr/cmd/statemgr").CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("cannot build statemgr: %v", buildErr)
	}
	return binary
}

// runBinary runs the built CLI and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(cliBinary(t), args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "NO_COLOR=1"} // no STATEMGR_* from the caller
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatalf("cannot run statemgr: %v", err)
	}
	return 0, stdout.String(), stderr.String()
}

// closedURL is a loopback address nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "nats://" + addr
}

// The CLI's exit code tells success, a refusal, a usage error, an
// unreachable server and refused credentials apart, and with -o json the
// failure is a JSON object on stdout too (issue 23 item 14).
func TestCLIExitCodes(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: []server.User{
		{Name: "vera", Password: "viewer-pw", Role: server.RoleViewer},
		{Name: "otto", Password: "operator-pw", Role: server.RoleOperator},
	}})
	nothing := closedURL(t)
	viewer := []string{"-s", env.URL, "--timeout", "3s", "--user", "vera", "--password", "viewer-pw"}
	operator := []string{"-s", env.URL, "--timeout", "3s", "--user", "otto", "--password", "operator-pw"}
	with := func(base []string, args ...string) []string { return append(append([]string{}, base...), args...) }
	cases := []struct {
		name  string
		args  []string
		code  int
		class string
		api   string // the catalogued error name, when the server refused
	}{
		{"ok", with(viewer, "get", "host.0"), exitOK, "", ""},
		{"refused by the server", with(viewer, "get", "host.9"), exitFailed, "refused", "unknown_component"},
		{"unknown operation", with(operator, "operation", "no-such-op"), exitFailed, "refused", "unknown_operation"},
		{"missing argument", with(viewer, "get"), exitUsage, "usage", ""},
		{"bad flag value", with(viewer, "get", "host.0", "--timeout", "soon"), exitUsage, "usage", ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, "usage", ""},
		{"nothing listens", []string{"-s", nothing, "--timeout", "2s", "get", "host.0"}, exitUnreachable, "unreachable", ""},
		{"wrong password", with([]string{"-s", env.URL, "--timeout", "3s", "--user", "vera", "--password", "nope"}, "get", "host.0"), exitDenied, "denied", ""},
		{"viewer may not control", with(viewer, "power", "on", "host.0"), exitDenied, "denied", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runBinary(t, tc.args...)
			if code != tc.code {
				t.Fatalf("statemgr %s exited %d, want %d; stderr: %s", strings.Join(tc.args, " "), code, tc.code, stderr)
			}
			if tc.code == exitOK {
				return
			}
			if !strings.HasPrefix(stderr, "statemgr: ") {
				t.Errorf("stderr %q does not say what failed", stderr)
			}
			code, stdout, _ := runBinary(t, append(tc.args, "-o", "json")...)
			var got jsonError
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("-o json: exit %d, stdout %q is not a JSON error: %v", code, stdout, err)
			}
			if code != tc.code || got.Error.ExitCode != tc.code || got.Error.Class != tc.class || got.Error.Message == "" {
				t.Fatalf("-o json: exit %d, error %+v; want exit %d, class %s", code, got.Error, tc.code, tc.class)
			}
			if tc.api != "" {
				kind := server.ErrUnknownComponent
				if tc.api == "unknown_operation" {
					kind = server.ErrUnknownOperation
				}
				if got.Error.Name != tc.api || got.Error.Code != kind.Code || got.Error.Hint == "" {
					t.Fatalf("-o json: error %+v, want the catalogued %s (%d) with its hint", got.Error, tc.api, kind.Code)
				}
			}
		})
	}
}
