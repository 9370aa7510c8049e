package servertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/statemgr/statemgr/server"
)

// CA is a private certificate authority made for one test, its files
// written under a temporary directory.
type CA struct {
	CertFile string
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	dir      string
}

// Cert says what certificate Issue and SelfSigned make.
type Cert struct {
	Name     string   // file name stem and common name
	Hosts    []string // DNS names and IP addresses it covers
	NotAfter time.Time
	Client   bool // for a client (extended key usage), not a server
}

// NewCA makes a private CA.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	ca := &CA{dir: tb.TempDir()}
	tmpl := template(Cert{Name: "statemgr test CA", NotAfter: time.Now().Add(24 * time.Hour)})
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.ExtKeyUsage = nil // a CA restricts nothing: it signs server and client certificates
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	ca.cert, ca.key, ca.CertFile, _ = write(tb, ca.dir, "ca", tmpl, nil, nil)
	return ca
}

// Issue makes a certificate signed by the CA.
func (ca *CA) Issue(tb testing.TB, c Cert) server.TLSFiles {
	tb.Helper()
	_, _, cert, key := write(tb, ca.dir, c.Name, template(c), ca.cert, ca.key)
	return server.TLSFiles{Cert: cert, Key: key, CA: ca.CertFile}
}

// SelfSigned makes a self-signed certificate; CA in the result is the
// certificate itself, which a client trusts as its own authority.
func SelfSigned(tb testing.TB, c Cert) server.TLSFiles {
	tb.Helper()
	_, _, cert, key := write(tb, tb.TempDir(), c.Name, template(c), nil, nil)
	return server.TLSFiles{Cert: cert, Key: key, CA: cert}
}

func template(c Cert) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: c.Name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     c.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if c.NotAfter.IsZero() {
		t.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if c.Client {
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, h := range c.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			t.IPAddresses = append(t.IPAddresses, ip)
		} else {
			t.DNSNames = append(t.DNSNames, h)
		}
	}
	return t
}

// write makes a key, signs tmpl with parent (itself when nil) and writes
// <name>.pem and <name>-key.pem under dir.
func write(tb testing.TB, dir, name string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return cert, key, certFile, keyFile
}
