package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server"
)

// connectNATS runs the embedded NATS server and connects to it in process,
// or, with an external URL, connects there. It returns the server (nil when
// external) and the daemon's connection.
func connectNATS(cfg *NATSConfig, logger hclog.Logger) (*natsserver.Server, *nats.Conn, error) {
	opts := []nats.Option{nats.Name("statemgrd"), server.LogAsyncErrors(logger), nats.MaxReconnects(-1)}
	if cfg.URL != "" {
		if cfg.CredsFile != "" {
			opts = append(opts, nats.UserCredentials(cfg.CredsFile))
		}
		nc, err := nats.Connect(cfg.URL, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot connect to NATS at %s: %w", cfg.URL, err)
		}
		return nil, nc, nil
	}
	nsCfg, err := embeddedNATSConfig(cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	ns, err := server.StartNATS(nsCfg)
	if errors.Is(err, server.ErrCleartextCredentials) {
		return nil, nil, fmt.Errorf("%w: nats: %w (tls { cert = ..., key = ... }, or allow_cleartext = true)", errConfig, err)
	}
	if err != nil {
		return nil, nil, err
	}
	nc, err := server.ConnectInProcess(ns, opts...)
	if err != nil {
		ns.Shutdown()
		return nil, nil, err
	}
	logger.Info("embedded NATS server listening", "address", ns.ClientURL(), "users", len(cfg.Users), "tls", cfg.TLS != nil)
	return ns, nc, nil
}

// embeddedNATSConfig turns the daemon's configuration into the embedded
// server's.
func embeddedNATSConfig(cfg *NATSConfig, logger hclog.Logger) (server.NATSConfig, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return server.NATSConfig{}, fmt.Errorf("%w: nats listen %q: %w (want host:port, e.g. 127.0.0.1:4222)", errConfig, cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return server.NATSConfig{}, fmt.Errorf("%w: nats listen %q: bad port", errConfig, cfg.Listen)
	}
	out := server.NATSConfig{Host: host, Port: port, Logger: logger.Named("nats"), AllowCleartext: cfg.AllowCleartext, MaxPayload: int32(cfg.MaxPayload),
		JetStreamDir: cfg.jetStreamDir}
	if cfg.AllowCleartext && cfg.TLS == nil && len(cfg.Users) > 0 && !server.IsLoopback(host) {
		logger.Warn("NATS users' passwords and every reply cross the network IN CLEAR: allow_cleartext is set and TLS is not configured; configure nats { tls { ... } }", "listen", cfg.Listen)
	}
	for _, u := range cfg.Users {
		out.Users = append(out.Users, server.User{Name: u.Name, Password: u.Password, Role: server.Role(u.Role), Service: u.Service, Inputs: u.Inputs})
	}
	if cfg.TLS != nil {
		if out.TLS, err = loadTLS(cfg.TLS, time.Now()); err != nil {
			return server.NATSConfig{}, fmt.Errorf("%w: %w", errConfig, err)
		}
	}
	return out, nil
}

// loadTLS reads and checks the certificate, key and CA the block names.
func loadTLS(c *TLSConfig, now time.Time) (*tls.Config, error) {
	cfg, err := server.ServerTLS(server.TLSFiles{Cert: c.Cert, Key: c.Key, CA: c.CA}, now)
	if err != nil {
		return nil, fmt.Errorf("nats tls: %w", err)
	}
	return cfg, nil
}
