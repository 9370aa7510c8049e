package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/statemgr/statemgr/adapters/platform"
)

// Role is what a NATS user may do with statemgr.
type Role string

// Roles.
const (
	// RoleViewer may send read requests and subscribe to events.
	RoleViewer Role = "viewer"
	// RoleOperator may also send control requests.
	RoleOperator Role = "operator"
	// RoleService may only report its own self-state
	// (statemgr.service.<name>.selfstate) and answer its control subject.
	RoleService Role = "service"
)

// User is one account of the embedded NATS server.
type User struct {
	Name     string // user name; empty with Nkey
	Password string // plain text or a bcrypt hash ("$2a$..."), as nats-server takes it
	Nkey     string // public user nkey ("U..."), instead of Name and Password
	Role     Role
	Service  string // RoleService: the service's name (component service.<Service>)
	// Inputs are the external inputs the user may report, whatever its
	// role, as "<kind>.<name>" ("thermal.cpu0", "health.vr0", "host.0")
	// or "<kind>.*" for every input of a kind: it may publish on
	// statemgr.input.<kind>.<name>, and nothing else reaches those
	// subjects. A thermal manager is typically a service user with
	// Inputs ["thermal.*"], a host watchdog daemon one with ["host.*"].
	Inputs []string
}

// NATSConfig configures the embedded NATS server.
type NATSConfig struct {
	Host string // default 127.0.0.1; must be a loopback address when Users is empty
	Port int    // default 4222; -1 picks a free port (tests)
	// Users and their roles. With none, anyone who can reach the port may
	// do anything, so the server then refuses to listen beyond loopback.
	Users []User
	TLS   *tls.Config // nil: plain TCP
	// AllowCleartext lets a server with Users listen beyond loopback without
	// TLS, sending passwords and every reply in clear across the network.
	AllowCleartext bool
	ServerName     string // default "statemgr"
	// MaxPayload is the largest message the server takes, headers
	// included; 0 = nats-server's default (1 MiB). Replies are paged
	// under it.
	MaxPayload int32
	Logger     hclog.Logger
	// JetStreamDir, if set, turns JetStream on for the daemon's own
	// connection (the checkpoints' object store), storing under it and
	// syncing every write (JetStream's default syncs every two minutes).
	// Users' accounts get no JetStream: they reach checkpoints only
	// through the statemgr.checkpoint subjects.
	JetStreamDir string
}

// ErrCleartextCredentials refuses a server with users that would listen
// beyond loopback without TLS: the users' passwords would cross the network
// in clear.
var ErrCleartextCredentials = errors.New("refusing to send credentials in clear across a network")

// Defaults of NATSConfig.
const (
	DefaultNATSHost = "127.0.0.1"
	DefaultNATSPort = 4222
)

// daemonUser is the user the daemon's own connection authenticates as. It
// may connect in process only (AllowedConnectionTypes), which only code
// holding the *natsserver.Server can do, so its password guards nothing and
// is a constant.
const (
	daemonUser     = "statemgrd"
	daemonPassword = "in-process-only"
)

// Accounts of an embedded server with users. The daemon lives alone in
// DaemonAccount; every user lives in ClientsAccount, which imports the
// request subjects as services shared with their requester's identity (so
// nats-server sets Nats-Request-Info with the sending user on every
// request: run the Server with Config.TrustRequestInfo) and the event
// subjects as a stream.
const (
	DaemonAccount  = "STATEMGR"
	ClientsAccount = "CLIENTS"
)

// readSubjects are what a viewer may publish: the read requests and
// discovery.
var readSubjects = []string{
	SubjectComponentsList, SubjectHostsList, SubjectHostGet, SubjectChassisGet, SubjectBMCGet,
	SubjectServicesList, SubjectServiceGet, SubjectSystemStatus, SubjectHistory, SubjectOperationGet,
	SubjectAlertsList, SubjectInterlocksList, SubjectLogReplay, SubjectValidate, SubjectPSUReadings, SubjectCheckpointList, SubjectCheckpointShow, SubjectLEDsList, SubjectConfigGet, discoverySubjects,
}

// controlRequestSubjects are the control requests (the self-state subject
// aside).
var controlRequestSubjects = []string{
	SubjectHostPowerOn, SubjectHostPowerOff, SubjectHostReset, SubjectChassisPowerOn, SubjectChassisPowerOff,
	SubjectChassisCycle, SubjectBMCMaintenance, SubjectBMCReset, SubjectServiceStart, SubjectServiceStop,
	SubjectServiceRestart, SubjectServiceReset, SubjectServiceEnable, SubjectServiceDisable, SubjectOperationAck,
	SubjectCheckpointCreate, SubjectCheckpointDelete, SubjectCheckpointRestore, SubjectLEDIdentify, SubjectLEDLampTest,
	SubjectConfigSet,
}

// RequestSubjects are the API's request subjects a user may send, as the
// roles allow: the reads and the controls (not discovery, not self-state).
func RequestSubjects() []string {
	var out []string
	for _, s := range append(append([]string{}, readSubjects...), controlRequestSubjects...) {
		if s != discoverySubjects {
			out = append(out, s)
		}
	}
	return out
}

// discoverySubjects are micro's $SRV requests.
const discoverySubjects = "$SRV.>"

// serviceControlSubjects is where the daemon forwards enable and disable.
const serviceControlSubjects = "statemgr.service.*.control"

// InboxPrefix returns the only inbox prefix a user of the embedded server
// may subscribe under: "_INBOX.<user>" (the name, or the public nkey).
// Replies to a user's requests go there, so no other user can read them;
// a client connects with nats.CustomInboxPrefix(InboxPrefix(user)).
func InboxPrefix(user string) string { return "_INBOX." + user }

// errBadUserName refuses a user name that cannot be a subject token,
// which its inbox prefix needs.
var errBadUserName = errors.New("a user name must be one NATS subject token: no '.', '*', '>' or white space")

// checkUserToken refuses a name that is not one subject token.
func checkUserToken(name string) error {
	if strings.ContainsAny(name, ".*> \t\r\n") {
		return fmt.Errorf("user %q: %w", name, errBadUserName)
	}
	return nil
}

// errBadInputGrant refuses a User.Inputs entry that names no input.
var errBadInputGrant = errors.New(`an input grant is "<kind>.<name>" or "<kind>.*", kind thermal, health or host (host.<host name>)`)

// inputSubjects returns the subjects u.Inputs grants.
func inputSubjects(u User) ([]string, error) {
	var out []string
	for _, g := range u.Inputs {
		kind, name, ok := strings.Cut(g, ".")
		if !ok || !slices.Contains([]platform.InputKind{platform.InputThermal, platform.InputHealth, HostInputKind}, platform.InputKind(kind)) ||
			name == "" || (name != "*" && (strings.ContainsAny(name, ".*> \t\r\n"))) {
			return nil, fmt.Errorf("user %q: input %q: %w", u.Name+u.Nkey, g, errBadInputGrant)
		}
		out = append(out, SubjectInputPrefix+g)
	}
	return out, nil
}

// permissions returns the NATS permissions of a role. Each user may
// subscribe only to its own inbox prefix, not to _INBOX.>, where it could
// read every other user's replies.
func permissions(u User) (*natsserver.Permissions, error) {
	inbox := InboxPrefix(u.Name + u.Nkey)
	if err := checkUserToken(u.Name + u.Nkey); err != nil {
		return nil, err
	}
	subscribe := &natsserver.SubjectPermission{Allow: []string{SubjectEventsPrefix + ">", inbox + ".>"}}
	grants, err := inputSubjects(u)
	if err != nil {
		return nil, err
	}
	perms, err := rolePermissions(u, inbox, subscribe)
	if perms != nil {
		perms.Publish.Allow = append(perms.Publish.Allow, grants...)
	}
	return perms, err
}

// rolePermissions returns the NATS permissions of u's role.
func rolePermissions(u User, inbox string, subscribe *natsserver.SubjectPermission) (*natsserver.Permissions, error) {
	switch u.Role {
	case RoleViewer:
		return &natsserver.Permissions{Publish: &natsserver.SubjectPermission{Allow: readSubjects}, Subscribe: subscribe}, nil
	case RoleOperator:
		return &natsserver.Permissions{
			Publish:   &natsserver.SubjectPermission{Allow: append(append([]string{}, readSubjects...), controlRequestSubjects...)},
			Subscribe: subscribe,
		}, nil
	case RoleService:
		if u.Service == "" {
			return nil, fmt.Errorf("service user %q names no service", u.Name+u.Nkey)
		}
		return &natsserver.Permissions{
			Publish:   &natsserver.SubjectPermission{Allow: []string{ServiceSelfStateSubject(u.Service)}},
			Subscribe: &natsserver.SubjectPermission{Allow: []string{ServiceControlSubject(u.Service), inbox + ".>"}},
			Response:  &natsserver.ResponsePermission{MaxMsgs: 1, Expires: time.Minute},
		}, nil
	}
	return nil, fmt.Errorf("user %q has role %q: use %s, %s or %s", u.Name+u.Nkey, u.Role, RoleViewer, RoleOperator, RoleService)
}

// natsOptions turns cfg into nats-server options.
func natsOptions(cfg NATSConfig) (*natsserver.Options, error) {
	opts := &natsserver.Options{
		ServerName: cfg.ServerName,
		Host:       cfg.Host,
		Port:       cfg.Port,
		NoSigs:     true,
		NoLog:      cfg.Logger == nil,
		MaxPayload: cfg.MaxPayload,
	}
	if opts.ServerName == "" {
		opts.ServerName = ServiceName
	}
	if opts.Host == "" {
		opts.Host = DefaultNATSHost
	}
	if opts.Port == 0 {
		opts.Port = DefaultNATSPort
	}
	if len(cfg.Users) == 0 {
		if !IsLoopback(opts.Host) {
			return nil, fmt.Errorf("refusing to listen on %s without users: configure users and roles, or listen on 127.0.0.1", opts.Host)
		}
	} else {
		if cfg.TLS == nil && !cfg.AllowCleartext && !IsLoopback(opts.Host) {
			return nil, fmt.Errorf("%w: listening on %s with users and no TLS: configure TLS (a certificate and key), listen on 127.0.0.1, or allow cleartext explicitly", ErrCleartextCredentials, opts.Host)
		}
		daemonAcc, clientsAcc := natsserver.NewAccount(DaemonAccount), natsserver.NewAccount(ClientsAccount)
		opts.Accounts = []*natsserver.Account{daemonAcc, clientsAcc}
		opts.Users = append(opts.Users, &natsserver.User{Username: daemonUser, Password: daemonPassword, Account: daemonAcc,
			AllowedConnectionTypes: map[string]struct{}{"IN_PROCESS": {}}})
		for _, u := range cfg.Users {
			perms, err := permissions(u)
			if err != nil {
				return nil, err
			}
			switch {
			case u.Nkey != "":
				opts.Nkeys = append(opts.Nkeys, &natsserver.NkeyUser{Nkey: u.Nkey, Permissions: perms, Account: clientsAcc})
			case u.Name == "" || u.Name == daemonUser:
				return nil, fmt.Errorf("a user needs a name (not %q) and password, or an nkey", daemonUser)
			default:
				opts.Users = append(opts.Users, &natsserver.User{Username: u.Name, Password: u.Password, Permissions: perms, Account: clientsAcc})
			}
		}
	}
	if cfg.TLS != nil {
		opts.TLS, opts.TLSConfig = true, cfg.TLS
	}
	if cfg.JetStreamDir != "" {
		opts.JetStream, opts.StoreDir, opts.SyncAlways = true, cfg.JetStreamDir, true
	}
	return opts, nil
}

// IsLoopback says whether host names the loopback interface only.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StartNATS starts the embedded NATS server and waits until it takes
// connections. The caller shuts it down (Shutdown, WaitForShutdown).
func StartNATS(cfg NATSConfig) (*natsserver.Server, error) {
	opts, err := natsOptions(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot configure the embedded NATS server: %w", err)
	}
	if opts.Port > 0 {
		// Fail at once on a port in use: the server would only log it and
		// leave us waiting for a readiness that never comes.
		addr := net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("cannot listen for NATS clients on %s: %w (another statemgrd or NATS server? stop it, or pick another address with --nats-listen)", addr, err)
		}
		_ = ln.Close()
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot create the embedded NATS server: %w", err)
	}
	if len(cfg.Users) > 0 {
		if err := linkAccounts(ns); err != nil {
			ns.Shutdown()
			return nil, fmt.Errorf("cannot link the embedded NATS server's accounts: %w", err)
		}
	}
	if cfg.Logger != nil {
		l := cfg.Logger.Named("nats")
		ns.SetLoggerV2(natsLogger{l}, l.IsDebug(), l.IsTrace(), false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS server not ready on %s:%d within 10s (is the port in use?)", opts.Host, opts.Port)
	}
	if opts.JetStream && len(cfg.Users) > 0 {
		if err := enableDaemonJetStream(ns); err != nil {
			ns.Shutdown()
			return nil, fmt.Errorf("cannot enable JetStream for the daemon's account: %w", err)
		}
	}
	return ns, nil
}

// enableDaemonJetStream gives the daemon's account JetStream, unlimited
// within the server's own limits. With accounts, nats-server enables it
// for none by itself.
func enableDaemonJetStream(ns *natsserver.Server) error {
	acc, err := ns.LookupAccount(DaemonAccount)
	if err != nil {
		return err
	}
	return acc.EnableJetStream(map[string]natsserver.JetStreamAccountLimits{
		"": {MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1, MaxAckPending: -1}}, nil)
}

// linkAccounts exports the daemon's request subjects to the clients'
// account as services that share the requester's identity, its events as a
// stream, and the services' control subjects the other way.
func linkAccounts(ns *natsserver.Server) error {
	daemon, err := ns.LookupAccount(DaemonAccount)
	if err != nil {
		return err
	}
	clients, err := ns.LookupAccount(ClientsAccount)
	if err != nil {
		return err
	}
	requests := append(append([]string{}, readSubjects...), controlRequestSubjects...)
	requests = append(requests, SubjectServiceSelfState, SubjectInputThermal, SubjectInputHealth, SubjectInputHost)
	for _, subject := range requests {
		respType := natsserver.Singleton
		if subject == discoverySubjects {
			respType = natsserver.Streamed // every service instance answers a ping
		}
		if err := daemon.AddServiceExportWithResponse(subject, respType, []*natsserver.Account{clients}); err != nil {
			return fmt.Errorf("export %s: %w", subject, err)
		}
		if err := clients.AddServiceImport(daemon, subject, ""); err != nil {
			return fmt.Errorf("import %s: %w", subject, err)
		}
		if err := clients.SetServiceImportSharing(daemon, subject, true); err != nil {
			return fmt.Errorf("share %s: %w", subject, err)
		}
	}
	if err := daemon.AddStreamExport(SubjectEventsPrefix+">", []*natsserver.Account{clients}); err != nil {
		return fmt.Errorf("export events: %w", err)
	}
	if err := clients.AddStreamImport(daemon, SubjectEventsPrefix+">", ""); err != nil {
		return fmt.Errorf("import events: %w", err)
	}
	if err := clients.AddServiceExport(serviceControlSubjects, []*natsserver.Account{daemon}); err != nil {
		return fmt.Errorf("export %s: %w", serviceControlSubjects, err)
	}
	if err := daemon.AddServiceImport(clients, serviceControlSubjects, ""); err != nil {
		return fmt.Errorf("import %s: %w", serviceControlSubjects, err)
	}
	return nil
}

// ConnectInProcess connects to the embedded server through an in-process
// pipe, as the daemon's own user (every permission), without TLS.
func ConnectInProcess(ns *natsserver.Server, opts ...nats.Option) (*nats.Conn, error) {
	if ns == nil {
		return nil, errors.New("cannot connect in process: no embedded NATS server")
	}
	all := append([]nats.Option{nats.InProcessServer(ns), nats.UserInfo(daemonUser, daemonPassword), nats.Name("statemgrd")}, opts...)
	// A nats:// URL, never the tls:// one ClientURL gives with TLS on: the
	// scheme would make the client insist on TLS, verify the certificate
	// against the system's roots and for the host 127.0.0.1, and so refuse a
	// private CA, a self-signed certificate or one without that IP SAN. The
	// server offers an in-process client plain text, and a pipe needs no TLS.
	nc, err := nats.Connect("nats://"+strings.TrimPrefix(strings.TrimPrefix(ns.ClientURL(), "tls://"), "nats://"), all...)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the embedded NATS server: %w", err)
	}
	return nc, nil
}

// LogAsyncErrors is a nats.Option that sends a connection's asynchronous
// errors (slow consumers, permission violations, a closed pipe at
// shutdown) to logger instead of stderr.
func LogAsyncErrors(logger hclog.Logger) nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		if sub != nil {
			logger.Warn("NATS connection error", "subject", sub.Subject, "error", err)
			return
		}
		logger.Debug("NATS connection error", "error", err)
	})
}

// natsLogger routes nats-server's log through hclog.
type natsLogger struct{ l hclog.Logger }

func (n natsLogger) Noticef(format string, v ...any) { n.l.Info(fmt.Sprintf(format, v...)) }
func (n natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Errorf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n natsLogger) Debugf(format string, v ...any)  { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n natsLogger) Tracef(format string, v ...any)  { n.l.Trace(fmt.Sprintf(format, v...)) }
