package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// tlsDaemon is a daemon run as a child process with TLS on its NATS port.
type tlsDaemon struct {
	url   string // tls://localhost:<port>
	files server.TLSFiles
}

// startTLSDaemon starts the real daemon with files' certificate and key
// (clientCA, if set, as the CA it verifies clients against), a viewer
// "vera" and a service user "demo" for service.demo.
func startTLSDaemon(t *testing.T, files server.TLSFiles, clientCA string) tlsDaemon {
	t.Helper()
	dir, httpAddr, natsAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	caLine := ""
	if clientCA != "" {
		caLine = fmt.Sprintf("    ca = %q\n", clientCA)
	}
	config := fmt.Sprintf(`nats {
  listen = %q
  tls {
    cert = %q
    key = %q
%s  }
  user "vera" {
    password = "viewer-pw"
    role = "viewer"
  }
  user "demo" {
    password = "service-pw"
    role = "service"
    service = "demo"
  }
}
`, natsAddr, files.Cert, files.Key, caLine)
	configFile := filepath.Join(dir, "statemgrd.hcl")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	child, out := startChildDaemon(t, fmt.Sprintf("-config %s -data-dir %s -http-listen %s", configFile, filepath.Join(dir, "data"), httpAddr))
	t.Cleanup(func() {
		_ = child.Process.Signal(syscall.SIGTERM)
		if err := child.Wait(); err != nil {
			t.Errorf("daemon: %v\n%s", err, out.String())
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon output:\n%s", out.String())
		}
	})
	waitReady(t, "http://"+httpAddr+"/readyz")
	_, port, _ := net.SplitHostPort(natsAddr)
	return tlsDaemon{url: "tls://localhost:" + port, files: files}
}

// buildCLI builds the real statemgr binary once per test binary run.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "statemgr")
	build := exec.Command("go", "build", "-o", bin, "github.com/statemgr/statemgr/cmd/statemgr")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/statemgr: %v\n%s", err, out)
	}
	return bin
}

// runCLI runs the CLI with env added to the environment and returns its
// exit code and output.
func runCLI(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	case err != nil:
		t.Fatal(err)
	}
	return 0, string(out)
}

// The daemon serves TLS with a certificate from a private CA, and with a
// self-signed one, neither covering 127.0.0.1 by IP: the CLI (the real
// binary, with --tls-ca or STATEMGR_TLS_CA) and a service user (reporting
// its self-state as a service does) get through when they trust the CA
// and fail with a clear error when they do not. Before, the daemon did
// not start: its in-process connection verified the certificate against
// the system's roots.
func TestDaemonServesTLSWithAPrivateCAOrSelfSignedCertificate(t *testing.T) {
	cli := buildCLI(t)
	ca := servertest.NewCA(t)
	for name, files := range map[string]server.TLSFiles{
		"private CA":  ca.Issue(t, servertest.Cert{Name: "bmc", Hosts: []string{"localhost"}}),
		"self-signed": servertest.SelfSigned(t, servertest.Cert{Name: "bmc", Hosts: []string{"localhost"}}),
	} {
		t.Run(name, func(t *testing.T) {
			d := startTLSDaemon(t, files, "")
			login := []string{"STATEMGR_USER=vera", "STATEMGR_PASSWORD=viewer-pw"}
			if code, out := runCLI(t, cli, login, "get", "host.0", "--server", d.url, "--tls-ca", files.CA); code != 0 || !strings.Contains(out, "host.0") {
				t.Fatalf("statemgr get --tls-ca: exit %d\n%s", code, out)
			}
			if code, out := runCLI(t, cli, append(login, "STATEMGR_TLS_CA="+files.CA), "get", "host.0", "--server", d.url); code != 0 {
				t.Fatalf("statemgr get with STATEMGR_TLS_CA: exit %d\n%s", code, out)
			}
			if code, out := runCLI(t, cli, login, "get", "host.0", "--server", d.url); code != 3 || !strings.Contains(out, "not trusted") || !strings.Contains(out, "--tls-ca") {
				t.Fatalf("statemgr get without the CA: exit %d, want 3 (unreachable) saying the certificate is not trusted and to pass --tls-ca\n%s", code, out)
			}
			if code, out := runCLI(t, cli, login, "get", "host.0", "--server", d.url, "--tls-ca", files.Key); code != 2 || !strings.Contains(out, "TLS CA "+files.Key) {
				t.Fatalf("statemgr get --tls-ca <a key file>: exit %d, want 2 (usage) naming the CA file\n%s", code, out)
			}
			reportSelfState(t, d.url, client.TLS(server.TLSFiles{CA: files.CA}))
			if nc, err := nats.Connect(d.url, client.UserInfo("demo", "service-pw")); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
				if nc != nil {
					nc.Close()
				}
				t.Fatalf("service connection without the CA = %v, want an unknown-authority error", err)
			}
		})
	}
}

// reportSelfState connects as the demo service's user and reports its
// self-state.
func reportSelfState(t *testing.T, url string, opts ...nats.Option) {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{client.UserInfo("demo", "service-pw")}, opts...)...)
	if err != nil {
		t.Fatalf("service connection: %v", err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.New(nc).Request(ctx, server.ServiceSelfStateSubject("demo"), map[string]string{"state": "ENABLED"}, nil); err != nil {
		t.Fatalf("self-state report over TLS: %v", err)
	}
}

// The official nats CLI (github.com/nats-io/natscli) reads from the
// daemon over TLS with --tlsca, and is refused without it. It is not a
// module dependency: the test runs when a nats binary is on PATH (.ci/natscli
// installs one).
func TestNatsCLIOverTLS(t *testing.T) {
	natsCLI, err := exec.LookPath("nats")
	if err != nil {
		t.Skip("the nats CLI is not on PATH: install it with `go install github.com/nats-io/natscli/nats@v0.5.0` (or run .ci/natscli)")
	}
	files := servertest.NewCA(t).Issue(t, servertest.Cert{Name: "bmc", Hosts: []string{"localhost"}})
	d := startTLSDaemon(t, files, "")
	args := []string{"--server", d.url, "--user", "vera", "--password", "viewer-pw", "--inbox-prefix", server.InboxPrefix("vera"),
		"--timeout", "5s", "request", server.SubjectHostGet, `{"id":"host.0"}`}
	out, err := exec.Command(natsCLI, append([]string{"--tlsca", files.CA}, args...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"id":"host.0"`) {
		t.Fatalf("nats request --tlsca: %v\n%s", err, out)
	}
	out, err = exec.Command(natsCLI, args...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate signed by unknown authority") {
		t.Fatalf("nats request without the CA: %v, want an unknown-authority error\n%s", err, out)
	}
}

// With nats.tls.ca set, the daemon requires client certificates signed by
// that CA: the CLI gets through with --tls-cert and --tls-key, not without.
func TestDaemonVerifiesClientCertificates(t *testing.T) {
	cli := buildCLI(t)
	ca := servertest.NewCA(t)
	d := startTLSDaemon(t, ca.Issue(t, servertest.Cert{Name: "bmc", Hosts: []string{"localhost"}}), ca.CertFile)
	clientCert := ca.Issue(t, servertest.Cert{Name: "operator", Client: true})
	login := []string{"STATEMGR_USER=vera", "STATEMGR_PASSWORD=viewer-pw", "STATEMGR_TLS_CA=" + ca.CertFile}
	if code, out := runCLI(t, cli, login, "get", "host.0", "--server", d.url, "--tls-cert", clientCert.Cert, "--tls-key", clientCert.Key); code != 0 {
		t.Fatalf("statemgr get with a client certificate: exit %d\n%s", code, out)
	}
	if code, out := runCLI(t, cli, login, "get", "host.0", "--server", d.url); code == 0 {
		t.Fatalf("statemgr get without a client certificate succeeded\n%s", out)
	}
}
