package main

import (
	"net/http"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/server/web"
)

// withPage serves the Service Manager page (server/web) on the HTTP
// listener beside ops, the bodiless-GET metrics and health endpoints. The
// page reaches the API as its users: in process on the embedded server,
// else at the external server's URL. Its sessions and streams end when
// srv shuts down.
func (d *statemgrd) withPage(srv *http.Server, ops http.Handler, nc *NATSConfig, logger hclog.Logger) http.Handler {
	dial := func(opts ...nats.Option) (*nats.Conn, error) { return nats.Connect(nc.URL, opts...) }
	if d.ns != nil {
		ns := d.ns
		dial = func(opts ...nats.Option) (*nats.Conn, error) {
			return nats.Connect(ns.ClientURL(), append(opts, nats.InProcessServer(ns))...)
		}
	}
	page := web.New(web.Config{Dial: dial, Logger: logger, UsersRequired: len(nc.Users) > 0 || nc.URL != ""})
	srv.RegisterOnShutdown(page.Close)
	return web.Mount(page, ops)
}
