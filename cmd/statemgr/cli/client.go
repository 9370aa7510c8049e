package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
)

// credentials are the flags that authenticate to the NATS server; every
// client command has them.
type credentials struct {
	user     string
	password string
	creds    string          // NATS credentials file (JWT + nkey seed)
	nkey     string          // nkey seed file
	tls      server.TLSFiles // CA to verify the server's certificate; optional client certificate and key
}

// clientCommands returns the commands that talk to a statemgr server, with
// the credential flags they share.
func clientCommands(g *globals) []*cobra.Command {
	cred := &credentials{}
	cmds := []*cobra.Command{
		newListCommand(g, cred), newGetCommand(g, cred), newPowerCommand(g, cred), newResetCommand(g, cred), newIdentifyCommand(g, cred), newLampTestCommand(g, cred),
		newBMCCommand(g, cred), newServiceCommand(g, cred), newHistoryCommand(g, cred), newStatusCommand(g, cred),
		newOperationCommand(g, cred), newAcknowledgeCommand(g, cred), newAlertsCommand(g, cred), newInterlocksCommand(g, cred), newTailCommand(g, cred),
		newPSUCommand(g, cred),
		newCheckpointCommand(g, cred), newConfigCommand(g, cred),
	}
	for _, c := range cmds {
		f := c.PersistentFlags()
		f.StringVar(&cred.user, "user", os.Getenv("STATEMGR_USER"), "NATS user name (env STATEMGR_USER)")
		f.StringVar(&cred.password, "password", os.Getenv("STATEMGR_PASSWORD"), "NATS password (env STATEMGR_PASSWORD; prefer it to the flag)")
		f.StringVar(&cred.creds, "creds", "", "NATS credentials file")
		f.StringVar(&cred.nkey, "nkey", "", "file holding an nkey seed")
		f.StringVar(&cred.tls.CA, "tls-ca", os.Getenv("STATEMGR_TLS_CA"), "CA certificate that signed the server's TLS certificate, or a self-signed certificate itself (env STATEMGR_TLS_CA; default: the system's roots)")
		f.StringVar(&cred.tls.Cert, "tls-cert", os.Getenv("STATEMGR_TLS_CERT"), "client certificate, for a server that verifies clients (env STATEMGR_TLS_CERT)")
		f.StringVar(&cred.tls.Key, "tls-key", os.Getenv("STATEMGR_TLS_KEY"), "key of --tls-cert (env STATEMGR_TLS_KEY)")
	}
	return cmds
}

// nkeyPublic returns the public key of the nkey seed in file.
func nkeyPublic(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	kp, err := nkeys.ParseDecoratedNKey(raw)
	if err != nil {
		return "", err
	}
	defer kp.Wipe()
	return kp.PublicKey()
}

// session is a connection to a statemgr server for one command.
type session struct {
	g      *globals
	nc     *nats.Conn
	client *client.Client

	mu         sync.Mutex
	permission func(error) // cancels the request in flight on a permissions violation
}

// connect opens the connection, turning the usual failures into advice.
func connect(g *globals, cred *credentials) (*session, error) {
	s := &session{g: g}
	opts := []nats.Option{nats.Name("statemgr-cli"), nats.Timeout(g.timeout),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { s.asyncError(err) })}
	switch {
	case cred.creds != "":
		opts = append(opts, nats.UserCredentials(cred.creds))
	case cred.nkey != "":
		opt, err := nats.NkeyOptionFromSeed(cred.nkey)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot read --nkey %s: %w", errUsage, cred.nkey, err)
		}
		public, err := nkeyPublic(cred.nkey)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot read --nkey %s: %w", errUsage, cred.nkey, err)
		}
		// statemgrd lets each user read replies under its own inbox only.
		opts = append(opts, opt, nats.CustomInboxPrefix(server.InboxPrefix(public)))
	case cred.user != "":
		opts = append(opts, client.UserInfo(cred.user, cred.password))
	}
	if cred.tls != (server.TLSFiles{}) {
		opts = append(opts, client.TLS(cred.tls))
	}
	nc, err := nats.Connect(g.server, opts...)
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badFile *server.TLSFileError
	switch {
	case errors.As(err, &badFile):
		return nil, fmt.Errorf("%w: %w (--tls-ca, --tls-cert, --tls-key)", errUsage, err)
	case errors.Is(err, nats.ErrAuthorization) || (err != nil && strings.Contains(strings.ToLower(err.Error()), "authorization")):
		return nil, fmt.Errorf("%w: the NATS server at %s refused the credentials (%w): pass --user and --password (or STATEMGR_PASSWORD), --creds or --nkey", errDenied, g.server, err)
	case errors.As(err, &unknownCA), errors.As(err, &badHost):
		return nil, fmt.Errorf("%w: the TLS certificate of the NATS server at %s is not trusted (%w): pass the CA that signed it with --tls-ca, and a URL naming a host the certificate covers", errUnreachable, g.server, err)
	case err != nil:
		return nil, fmt.Errorf("%w: no statemgr server at %s (%w): is statemgrd running? start it with `go run ./cmd/statemgrd`", errUnreachable, g.server, err)
	}
	s.nc, s.client = nc, client.New(nc)
	return s, nil
}

func (s *session) close() { s.nc.Close() }

// asyncError hears the connection's asynchronous errors; a permissions
// violation ends the request in flight at once instead of at its timeout.
func (s *session) asyncError(err error) {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.permission != nil {
		s.permission(err)
	}
}

// request sends one request and decodes its reply, within --timeout (plus
// wait, for control requests that wait for their outcome).
func (s *session) request(ctx context.Context, subject string, req, reply any) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeout(ctx, s.g.timeout+waitOf(req))
	defer cancelTimeout()
	s.mu.Lock()
	s.permission = func(err error) {
		cancel(fmt.Errorf("%w: permission denied: your NATS user may not send %s (a viewer cannot control; log in as an operator): %w", errDenied, subject, err))
	}
	s.mu.Unlock()
	err := s.client.Request(ctx, subject, req, reply)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return describe(s.g.server, err)
}

// waitOf returns how long a control request asks to wait.
func waitOf(req any) time.Duration {
	var wait string
	switch r := req.(type) {
	case server.ControlRequest:
		wait = r.Wait
	case server.MaintenanceRequest:
		wait = r.Wait
	case server.CheckpointCreateRequest:
		return server.MaxCheckpointTime // the server bounds it
	case server.CheckpointRestoreRequest:
		return server.MaxRestoreTime
	case server.ConfigSetRequest:
		return server.MaxConfigSetTime
	}
	d, err := time.ParseDuration(wait)
	if err != nil || d < 0 {
		return 0 // the server refuses a bad wait
	}
	return d
}

// describe turns a request error into advice for the command line.
func describe(url string, err error) error {
	var apiErr *server.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr):
		msg := fmt.Sprintf("%s (%s, code %d)", apiErr.Error(), apiErr.Kind.Name(), apiErr.Kind.Code)
		if len(apiErr.Allowed) > 0 {
			msg += fmt.Sprintf("\n  state: %s; allowed: %s", apiErr.State, strings.Join(apiErr.Allowed, ", "))
		}
		if r := apiErr.Refusal; r != nil {
			msg += describeRefusal(r)
		}
		if hint := apiErr.EffectiveHint(); hint != "" {
			msg += "\n  hint: " + hint
		}
		return &refusedError{text: msg, api: apiErr}
	case errors.Is(err, client.ErrNoServer):
		return fmt.Errorf("%w: no statemgr server answers at %s (%w): is statemgrd running? start it with `go run ./cmd/statemgrd`", errUnreachable, url, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("%w: the statemgr server at %s did not answer in time (%w): the outcome is unknown; retry with the same --operation, or raise --timeout", errUnreachable, url, err)
	}
	return err
}

// describeRefusal spells out what refused a coordinated operation.
func describeRefusal(r *server.Refusal) string {
	var b strings.Builder
	if r.Operation != "" {
		fmt.Fprintf(&b, "\n  refused operation: %s (statemgr operation %s)", r.Operation, r.Operation)
	}
	if r.InFlight != "" {
		fmt.Fprintf(&b, "\n  %s is held by operation %s; add --queue to run after it", r.Component, r.InFlight)
	}
	if r.Interlock != "" {
		fmt.Fprintf(&b, "\n  interlock: %s", r.Interlock)
		if r.Clears != "" {
			fmt.Fprintf(&b, "; clears when %s", r.Clears)
		}
		if r.Overridable {
			fmt.Fprintf(&b, "; an operator may override it with --override %s", r.Interlock)
		}
	}
	if len(r.Hosts) > 0 {
		fmt.Fprintf(&b, "\n  hosts not Off: %s", strings.Join(r.Hosts, ", "))
	}
	return b.String()
}

// query sends one request and prints its reply: as JSON with -o json,
// else with text.
func query[T any](cmd *cobra.Command, g *globals, cred *credentials, subject string, req any, text func(io.Writer, T) error) error {
	return show(cmd, g, cred, func(ctx context.Context, request client.RequestFunc) (T, error) {
		var reply T
		err := request(ctx, subject, req, &reply)
		return reply, err
	}, text)
}

// show is query with the requests made by fetch, for replies that take
// more than one request (paged lists).
func show[T any](cmd *cobra.Command, g *globals, cred *credentials, fetch func(context.Context, client.RequestFunc) (T, error), text func(io.Writer, T) error) error {
	s, err := connect(g, cred)
	if err != nil {
		return err
	}
	defer s.close()
	reply, err := fetch(cmd.Context(), s.request)
	if err != nil {
		return err
	}
	if g.output == outputJSON {
		return printJSON(cmd.OutOrStdout(), reply)
	}
	return text(cmd.OutOrStdout(), reply)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// componentArg checks a component id argument, naming the kinds allowed.
func componentArg(arg string, kinds ...string) (actors.ID, error) {
	id, err := actors.ParseID(arg)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errUsage, err)
	}
	for _, k := range kinds {
		if id.Kind() == k {
			return id, nil
		}
	}
	return "", fmt.Errorf("%w: %s is a %s; this command takes %s components", errUsage, id, id.Kind(), strings.Join(kinds, " or "))
}

// serviceArg accepts a service as "sync" or "service.sync".
func serviceArg(arg string) (actors.ID, error) {
	if !strings.HasPrefix(arg, actors.KindService+".") {
		arg = actors.KindService + "." + arg
	}
	return componentArg(arg, actors.KindService)
}

// controlFlags are the flags of every control command; the power flags
// (override, queue, at, power-chassis) only those of host and chassis
// commands, which run as coordinator operations.
type controlFlags struct {
	wait         time.Duration
	operation    string
	override     []string
	queue        bool
	at           string
	powerChassis bool
}

func (cf *controlFlags) add(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&cf.wait, "wait", 0, "wait up to this long for the final outcome (e.g. 30s)")
	cmd.Flags().StringVar(&cf.operation, "operation", "", "idempotency key, for a safe retry: a retry returns the first request's operation")
}

// addQueue adds --queue.
func (cf *controlFlags) addQueue(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&cf.queue, "queue", false, "wait for a busy component instead of being refused")
}

// addPower adds the flags of coordinated power operations.
func (cf *controlFlags) addPower(cmd *cobra.Command) {
	cf.addQueue(cmd)
	cmd.Flags().StringSliceVar(&cf.override, "override", nil, "override these interlocks (operators; e.g. thermal,maintenance); logged with who asked")
	cmd.Flags().StringVar(&cf.at, "at", "", "run at this RFC 3339 time instead of now (persisted; survives restarts)")
}

// request builds a control request for id.
func (cf *controlFlags) request(id actors.ID, typ string) server.ControlRequest {
	req := server.ControlRequest{ID: string(id), Type: typ, Operation: cf.operation, Override: cf.override, Queue: cf.queue,
		At: cf.at, PowerChassis: cf.powerChassis}
	if cf.wait > 0 {
		req.Wait = cf.wait.String()
	}
	return req
}

// runControl sends a control request and prints the reply.
func runControl(cmd *cobra.Command, g *globals, cred *credentials, subject string, req any) error {
	s, err := connect(g, cred)
	if err != nil {
		return err
	}
	defer s.close()
	var reply server.ControlReply
	if err := s.request(cmd.Context(), subject, req, &reply); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if g.output == outputJSON {
		if err := printJSON(w, reply); err != nil {
			return err
		}
		return outcomeFailure(reply)
	}
	dup := ""
	if reply.Duplicate {
		dup = " (a retry: first outcome)"
	}
	if reply.Schedule != "" {
		fmt.Fprintf(w, "%s: %s scheduled for %s, schedule %s\n", reply.ID, reply.Request, reply.At.Format(time.RFC3339), reply.Schedule)
		return nil
	}
	fmt.Fprintf(w, "%s: %s accepted%s, state %s, operation %s\n", reply.ID, reply.Request, dup, reply.State, reply.Operation)
	if o := reply.Outcome; o != nil {
		fmt.Fprintf(w, "outcome: %s, state %s", o.Result, o.State)
		if o.Cause != "" {
			fmt.Fprintf(w, " (%s)", o.Cause)
		}
		fmt.Fprintln(w)
		if o.Alert != "" {
			fmt.Fprintf(w, "alert: %s (acknowledge with: statemgr acknowledge %s)\n", o.Alert, reply.Operation)
		}
	}
	return outcomeFailure(reply)
}

// outcomeFailure is the error of a reply whose operation ended other than
// succeeded (or still in progress).
func outcomeFailure(reply server.ControlReply) error {
	o := reply.Outcome
	if o == nil || o.Result == server.ResultSucceeded || o.Result == server.ResultInProgress {
		return nil
	}
	return &outcomeError{text: fmt.Sprintf("operation %s %s: %s is %s", reply.Operation, o.Result, reply.ID, o.State)}
}
