package server

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// TLSFiles names the PEM files of one end of a TLS connection. For the
// embedded server Cert and Key are required and CA, if set, makes it
// require client certificates signed by that CA. For a client CA is the
// authority that signed the server's certificate (a private CA, or a
// self-signed certificate itself; empty: the system's roots) and Cert
// and Key are an optional client certificate.
type TLSFiles struct {
	Cert string
	Key  string
	CA   string
}

// What can be wrong with a TLS file; a *TLSFileError wraps one.
var (
	ErrTLSFileMissing    = errors.New("file does not exist")
	ErrTLSFileUnreadable = errors.New("file cannot be read")
	ErrTLSNotPEM         = errors.New("file holds no PEM block of the expected type")
	ErrTLSCertExpired    = errors.New("certificate has expired")
	ErrTLSKeyMismatch    = errors.New("private key does not match the certificate")
)

// TLSFileError says which TLS file is wrong, how, and what to do.
type TLSFileError struct {
	Role string // "certificate", "key" or "CA"
	Path string
	Err  error // one of the ErrTLS... sentinels, possibly wrapping the cause
}

func (e *TLSFileError) Error() string {
	hint := "give a PEM file (-----BEGIN ...-----)"
	switch {
	case errors.Is(e.Err, ErrTLSFileMissing), errors.Is(e.Err, ErrTLSFileUnreadable):
		hint = "check the path and that the daemon's user may read it"
	case errors.Is(e.Err, ErrTLSCertExpired):
		hint = "issue a new certificate (or check the system clock)"
	case errors.Is(e.Err, ErrTLSKeyMismatch):
		hint = "give the key the certificate was issued for"
	}
	return fmt.Sprintf("TLS %s %s: %v: %s", e.Role, e.Path, e.Err, hint)
}

func (e *TLSFileError) Unwrap() error { return e.Err }

// readTLSFile reads one PEM file and checks it holds a block of a type isType accepts
// (any "... PRIVATE KEY" block for a key).
func readTLSFile(role, path string, isType func(string) bool) ([]byte, error) {
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &TLSFileError{role, path, ErrTLSFileMissing}
	case err != nil:
		return nil, &TLSFileError{role, path, fmt.Errorf("%w: %w", ErrTLSFileUnreadable, err)}
	}
	for rest := raw; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil, &TLSFileError{role, path, ErrTLSNotPEM}
		}
		if isType(block.Type) {
			return raw, nil
		}
	}
}

func isCertificate(t string) bool { return t == "CERTIFICATE" }
func isPrivateKey(t string) bool  { return len(t) >= 11 && t[len(t)-11:] == "PRIVATE KEY" }

// loadKeyPair reads a certificate and its key and checks that they belong
// together and that the certificate has not expired at now.
func loadKeyPair(certPath, keyPath string, now time.Time) (tls.Certificate, error) {
	certPEM, err := readTLSFile("certificate", certPath, isCertificate)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readTLSFile("key", keyPath, isPrivateKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := firstCertificate(certPEM)
	if err != nil {
		return tls.Certificate{}, &TLSFileError{"certificate", certPath, fmt.Errorf("%w: %w", ErrTLSNotPEM, err)}
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, &TLSFileError{"certificate", certPath,
			fmt.Errorf("%w: valid until %s", ErrTLSCertExpired, leaf.NotAfter.UTC().Format(time.RFC3339))}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if key, ok := privateKey(keyPEM); ok && !publicKeysEqual(key.Public(), leaf.PublicKey) {
			return tls.Certificate{}, &TLSFileError{"key", keyPath, fmt.Errorf("%w %s", ErrTLSKeyMismatch, certPath)}
		}
		return tls.Certificate{}, &TLSFileError{"key", keyPath, fmt.Errorf("%w: %w", ErrTLSNotPEM, err)}
	}
	return pair, nil
}

func firstCertificate(certPEM []byte) (*x509.Certificate, error) {
	for rest := certPEM; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil, errors.New("no certificate")
		}
		if isCertificate(block.Type) {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// privateKey parses the first private key block of keyPEM.
func privateKey(keyPEM []byte) (crypto.Signer, bool) {
	for rest := keyPEM; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil, false
		}
		if !isPrivateKey(block.Type) {
			continue
		}
		if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			s, ok := k.(crypto.Signer)
			return s, ok
		}
		if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return k, true
		}
		if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return k, true
		}
		return nil, false
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// loadCAPool reads a CA file (one or more certificates).
func loadCAPool(path string) (*x509.CertPool, error) {
	raw, err := readTLSFile("CA", path, isCertificate)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, &TLSFileError{"CA", path, ErrTLSNotPEM}
	}
	return pool, nil
}

// ServerTLS builds the embedded server's TLS configuration from files,
// checked at now: a certificate and key that match and have not expired,
// and, with a CA, client certificates required and verified against it.
func ServerTLS(files TLSFiles, now time.Time) (*tls.Config, error) {
	pair, err := loadKeyPair(files.Cert, files.Key, now)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if files.CA != "" {
		if cfg.ClientCAs, err = loadCAPool(files.CA); err != nil {
			return nil, err
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientTLS builds a client's TLS configuration from files: the CA to
// trust (none: the system's roots) and an optional client certificate
// and key, which must come together.
func ClientTLS(files TLSFiles, now time.Time) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var err error
	if files.CA != "" {
		if cfg.RootCAs, err = loadCAPool(files.CA); err != nil {
			return nil, err
		}
	}
	switch {
	case files.Cert != "" && files.Key != "":
		pair, err := loadKeyPair(files.Cert, files.Key, now)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	case files.Cert != "":
		return nil, &TLSFileError{"key", "(none)", fmt.Errorf("%w: a client certificate needs its key", ErrTLSFileMissing)}
	case files.Key != "":
		return nil, &TLSFileError{"certificate", "(none)", fmt.Errorf("%w: a client key needs its certificate", ErrTLSFileMissing)}
	}
	return cfg, nil
}
