package server_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// The server's own in-process connection needs no TLS, so a certificate
// from a private CA, or a self-signed one, without an IP SAN for
// 127.0.0.1, serves; clients trust it through the CA they are given and
// refuse it without. Before, the in-process connection verified the
// certificate against the system roots and the server did not start.
func TestTLSWithAPrivateCAOrASelfSignedCertificate(t *testing.T) {
	ca := servertest.NewCA(t)
	for name, files := range map[string]server.TLSFiles{
		"private CA":  ca.Issue(t, servertest.Cert{Name: "bmc", Hosts: []string{"localhost"}}),
		"self-signed": servertest.SelfSigned(t, servertest.Cert{Name: "bmc", Hosts: []string{"localhost"}}),
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := server.ServerTLS(server.TLSFiles{Cert: files.Cert, Key: files.Key}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			env := servertest.Start(t, servertest.Options{Users: users, TLS: cfg})
			if _, err := env.Conn.TLSConnectionState(); err == nil {
				t.Fatal("the in-process connection went through TLS")
			}
			url := "tls://localhost:" + urlPort(t, env.URL)
			nc, err := nats.Connect(url, client.UserInfo("vera", "viewer-pw"), client.TLS(server.TLSFiles{CA: files.CA}))
			if err != nil {
				t.Fatalf("connect trusting the CA: %v", err)
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := client.New(nc).Get(ctx, "host.0"); err != nil {
				t.Fatalf("read over TLS: %v", err)
			}
			var unknownCA x509.UnknownAuthorityError
			if nc, err := nats.Connect(url, client.UserInfo("vera", "viewer-pw")); !errors.As(err, &unknownCA) {
				if nc != nil {
					nc.Close()
				}
				t.Fatalf("connect without the CA = %v, want x509.UnknownAuthorityError", err)
			}
		})
	}
}

// urlPort is the port of a nats:// or tls:// URL.
func urlPort(t *testing.T, url string) string {
	t.Helper()
	i := len(url) - 1
	for i >= 0 && url[i] != ':' {
		i--
	}
	if i < 0 {
		t.Fatalf("no port in %s", url)
	}
	return url[i+1:]
}

// Every way a TLS file can be wrong is a *server.TLSFileError naming the
// file, with the sentinel saying what is wrong.
func TestTLSFileErrors(t *testing.T) {
	ca := servertest.NewCA(t)
	good := ca.Issue(t, servertest.Cert{Name: "good", Hosts: []string{"localhost"}})
	other := ca.Issue(t, servertest.Cert{Name: "other", Hosts: []string{"localhost"}})
	expired := ca.Issue(t, servertest.Cert{Name: "expired", Hosts: []string{"localhost"}, NotAfter: time.Now().Add(-time.Minute)})
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files server.TLSFiles
		want  error
		path  string
	}{
		{"missing certificate", server.TLSFiles{Cert: filepath.Join(dir, "none.pem"), Key: good.Key}, server.ErrTLSFileMissing, filepath.Join(dir, "none.pem")},
		{"missing key", server.TLSFiles{Cert: good.Cert, Key: filepath.Join(dir, "none.pem")}, server.ErrTLSFileMissing, filepath.Join(dir, "none.pem")},
		{"unreadable certificate (a directory)", server.TLSFiles{Cert: dir, Key: good.Key}, server.ErrTLSFileUnreadable, dir},
		{"certificate not PEM", server.TLSFiles{Cert: garbage, Key: good.Key}, server.ErrTLSNotPEM, garbage},
		{"key file holds a certificate", server.TLSFiles{Cert: good.Cert, Key: good.Cert}, server.ErrTLSNotPEM, good.Cert},
		{"CA not PEM", server.TLSFiles{Cert: good.Cert, Key: good.Key, CA: garbage}, server.ErrTLSNotPEM, garbage},
		{"missing CA", server.TLSFiles{Cert: good.Cert, Key: good.Key, CA: filepath.Join(dir, "ca.pem")}, server.ErrTLSFileMissing, filepath.Join(dir, "ca.pem")},
		{"expired", server.TLSFiles{Cert: expired.Cert, Key: expired.Key}, server.ErrTLSCertExpired, expired.Cert},
		{"key of another certificate", server.TLSFiles{Cert: good.Cert, Key: other.Key}, server.ErrTLSKeyMismatch, other.Key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := server.ServerTLS(tc.files, time.Now())
			var fileErr *server.TLSFileError
			if !errors.Is(err, tc.want) || !errors.As(err, &fileErr) || fileErr.Path != tc.path {
				t.Fatalf("ServerTLS = %v, want %v about %s", err, tc.want, tc.path)
			}
		})
	}
	if _, err := server.ServerTLS(good, time.Now()); err != nil {
		t.Fatalf("good files: %v", err)
	}
	if _, err := server.ClientTLS(server.TLSFiles{Cert: good.Cert}, time.Now()); !errors.Is(err, server.ErrTLSFileMissing) {
		t.Fatalf("client certificate without key: %v", err)
	}
}
