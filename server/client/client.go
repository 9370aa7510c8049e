package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/server"
)

// ErrNoServer means nothing answers on statemgr's subjects: the daemon is
// not running or the connection reaches a different NATS server.
var ErrNoServer = errors.New("no statemgr server answered")

// Client sends requests to a statemgr server.
type Client struct {
	nc *nats.Conn
}

// New returns a client over nc.
func New(nc *nats.Conn) *Client { return &Client{nc: nc} }

// Conn returns the client's connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Request sends req (marshalled as JSON) on subject and decodes the reply
// into reply. An error reply becomes a *server.Error; no responders become
// ErrNoServer. ctx bounds the request.
func (c *Client) Request(ctx context.Context, subject string, req, reply any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("cannot encode the %s request: %w", subject, err)
	}
	return c.RequestRaw(ctx, subject, body, reply)
}

// RequestRaw is Request with a body already encoded.
func (c *Client) RequestRaw(ctx context.Context, subject string, body []byte, reply any) error {
	msg, err := c.nc.RequestWithContext(ctx, subject, body)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return fmt.Errorf("%w on %s", ErrNoServer, subject)
		}
		return fmt.Errorf("%s: %w", subject, err)
	}
	if err := DecodeError(msg); err != nil {
		return err
	}
	if reply == nil {
		return nil
	}
	if err := json.Unmarshal(msg.Data, reply); err != nil {
		return fmt.Errorf("cannot decode the %s reply: %w", subject, err)
	}
	return nil
}

// DecodeError returns the *server.Error an error reply carries, or nil for
// a successful reply.
func DecodeError(msg *nats.Msg) error {
	statusText := msg.Header.Get(micro.ErrorCodeHeader)
	if statusText == "" {
		return nil
	}
	var body server.ErrorReply
	_ = json.Unmarshal(msg.Data, &body)
	code, err := strconv.Atoi(msg.Header.Get(server.HeaderErrorCode))
	if err != nil {
		code = body.Error.Code
	}
	kind, ok := server.LookupError(code)
	if !ok {
		status, err := strconv.Atoi(statusText)
		if err != nil {
			status = body.Error.Status
		}
		kind = &server.ErrorKind{Constant: "ErrUnknown", Status: status, Code: code,
			Description: "an error this client does not know", Hint: body.Error.Hint}
	}
	message := body.Error.Message
	if message == "" {
		message = msg.Header.Get(micro.ErrorHeader)
	}
	return &server.Error{Kind: kind, Message: message, Hint: body.Error.Hint, State: body.Error.State, Allowed: body.Error.Allowed,
		Refusal: body.Error.Refusal}
}

// GetSubject returns the get subject for a component id's kind.
func GetSubject(id string) (string, error) {
	parsed, err := actors.ParseID(id)
	if err != nil {
		return "", err
	}
	switch parsed.Kind() {
	case actors.KindHost:
		return server.SubjectHostGet, nil
	case actors.KindChassis:
		return server.SubjectChassisGet, nil
	case actors.KindBMC:
		return server.SubjectBMCGet, nil
	}
	return server.SubjectServiceGet, nil
}

// Get returns one component.
func (c *Client) Get(ctx context.Context, id string) (server.Component, error) {
	var comp server.Component
	subject, err := GetSubject(id)
	if err != nil {
		return comp, err
	}
	err = c.Request(ctx, subject, server.IDRequest{ID: id}, &comp)
	return comp, err
}

// Replay returns one page of the log.
func (c *Client) Replay(ctx context.Context, req server.ReplayRequest) (server.ReplayReply, error) {
	var reply server.ReplayReply
	err := c.Request(ctx, server.SubjectLogReplay, req, &reply)
	return reply, err
}

// UserInfo is nats.UserInfo for a user of statemgrd's embedded server, with
// the inbox prefix that user may read replies under
// (server.InboxPrefix): with the default _INBOX prefix no reply arrives.
func UserInfo(user, password string) nats.Option {
	return func(o *nats.Options) error {
		if err := nats.UserInfo(user, password)(o); err != nil {
			return err
		}
		return nats.CustomInboxPrefix(server.InboxPrefix(user))(o)
	}
}

// TLS is a nats.Option that connects with TLS, trusting files.CA (a
// private CA, or a self-signed server certificate itself; empty: the
// system's roots) and presenting files.Cert and files.Key if set. A file
// that is missing, not PEM, expired or mismatched fails nats.Connect with
// a *server.TLSFileError.
func TLS(files server.TLSFiles) nats.Option {
	return func(o *nats.Options) error {
		cfg, err := server.ClientTLS(files, time.Now())
		if err != nil {
			return err
		}
		return nats.Secure(cfg)(o)
	}
}
