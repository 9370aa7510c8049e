package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/statemgr/statemgr/events/badger"
	"github.com/statemgr/statemgr/server"
)

// Config is the daemon's configuration: built-in defaults, then the config
// file (HCL, like the platform file), then flags.
// Attributes absent from the file keep their defaults.
type Config struct {
	DataDir        string `hcl:"data_dir,optional"`
	StorageProfile string `hcl:"storage_profile,optional"`
	PlatformFile   string `hcl:"platform_file,optional"`
	// Unconfigured starts with no platform (and no components) until an
	// operator sets one through the API (statemgr config set); once set,
	// the data directory's copy is used at every start.
	Unconfigured bool   `hcl:"unconfigured,optional"`
	LogFormat    string `hcl:"log_format,optional"`  // text or json
	LogLevel     string `hcl:"log_level,optional"`   // trace, debug, info, warn, error
	HTTPListen   string `hcl:"http_listen,optional"` // metrics and health; "" disables
	// ShutdownGrace bounds how long a SIGTERM waits for in-flight work.
	ShutdownGrace string        `hcl:"shutdown_grace,optional"`
	NATS          *NATSConfig   `hcl:"nats,block"`
	Policy        *PolicyConfig `hcl:"policy,block"`
	// Checkpoints, if set, is where statemgr checkpoint create stores
	// (checkpoints.go).
	Checkpoints *CheckpointsConfig `hcl:"checkpoints,block"`
}

// NATSConfig says where the NATS API is served.
type NATSConfig struct {
	// URL of an external NATS server; empty runs the embedded one.
	URL string `hcl:"url,optional"`
	// Listen is the embedded server's client address (default
	// 127.0.0.1:4222). Without users it must be a loopback address; with
	// users, beyond loopback it needs TLS or AllowCleartext.
	Listen string `hcl:"listen,optional"`
	// AllowCleartext lets users' passwords and replies cross a network in
	// clear (a listener beyond loopback without TLS). The daemon warns.
	AllowCleartext bool `hcl:"allow_cleartext,optional"`
	// MaxPayload is the embedded server's largest message in bytes
	// (0: NATS's 1 MiB). Replies are paged under it; one item larger than
	// it (a huge self-state report, say) is refused reply_too_large, whose
	// hint points here.
	MaxPayload int `hcl:"max_payload,optional"`
	// jetStreamDir turns the embedded server's JetStream on for the
	// checkpoints' bucket (CheckpointsConfig.jetStreamDir).
	jetStreamDir string
	// Credentials for an external server (a .creds file) or for the
	// daemon's own connection.
	CredsFile string       `hcl:"creds_file,optional"`
	TLS       *TLSConfig   `hcl:"tls,block"`
	Users     []UserConfig `hcl:"user,block"`
}

// TLSConfig enables TLS on the embedded server's client port.
type TLSConfig struct {
	Cert string `hcl:"cert"`
	Key  string `hcl:"key"`
	// CA, if set, makes the server require client certificates signed by
	// it. The daemon's own connection is in process and needs no TLS, so
	// a certificate from a private CA or a self-signed one serves.
	CA string `hcl:"ca,optional"`
}

// UserConfig is one account of the embedded server.
type UserConfig struct {
	Name     string `hcl:"name,label"`
	Password string `hcl:"password"`
	// Role is viewer (read and subscribe), operator (also control) or
	// service (report the self-state of Service only).
	Role    string `hcl:"role"`
	Service string `hcl:"service,optional"`
	// Inputs are the external inputs the user may report
	// ("thermal.cpu", "health.*", "host.0"; server.User.Inputs).
	Inputs []string `hcl:"inputs,optional"`
}

const defaultNATSListen = "127.0.0.1:4222"

// The range of nats.max_payload: below 4 KiB a component's status does
// not fit a reply; 64 MiB is nats-server's own ceiling.
const (
	minMaxPayload = 4 << 10
	maxMaxPayload = 64 << 20
)

// errConfig marks a configuration mistake; the message says what to fix.
var errConfig = errors.New("invalid configuration")

func defaultConfig() Config {
	return Config{
		DataDir:        defaultDataDir(),
		StorageProfile: string(badger.ProfileBMC),
		LogFormat:      "text",
		LogLevel:       "info",
		HTTPListen:     "127.0.0.1:9090",
		NATS:           &NATSConfig{Listen: defaultNATSListen},
		ShutdownGrace:  "10s",
	}
}

// defaultDataDir follows systemd's StateDirectory, then the FHS for root,
// then the XDG state directory.
func defaultDataDir() string {
	if dir := os.Getenv("STATE_DIRECTORY"); dir != "" {
		return strings.Split(dir, ":")[0]
	}
	if os.Geteuid() == 0 {
		return "/var/lib/statemgr"
	}
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "statemgr")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "statemgr")
	}
	return "statemgr-data"
}

// options are the parsed command line.
type options struct {
	configFile string
	version    bool
	salvage    bool
	help       string            // the usage text when -h or -help asked for it
	overrides  map[string]string // flag name -> value, only flags given
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("statemgrd", flag.ContinueOnError)
	// Parse errors are returned, usage is returned in o.help: the caller
	// chooses where each goes.
	fs.SetOutput(io.Discard)
	o := options{overrides: map[string]string{}}
	fs.StringVar(&o.configFile, "config", "", "configuration file (HCL); flags override it")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	unconfigured := fs.Bool("unconfigured", false, "start with no platform and no components until an operator sets one (statemgr config set FILE); once set, it is used at every start")
	fs.BoolVar(&o.salvage, "salvage", false, "rebuild a damaged event log from every record that verifies, recording the loss as events, and exit (daemon stopped)")
	def := defaultConfig()
	values := map[string]*string{}
	for _, f := range []struct{ name, value, usage string }{
		{"data-dir", def.DataDir, "data directory (event log and snapshots)"},
		{"storage-profile", def.StorageProfile, "storage profile: bmc (256-512 MB devices) or server"},
		{"platform", def.PlatformFile, "platform file (HCL); the built-in simulated platform without one"},
		{"nats-url", def.NATS.URL, "external NATS server URL; without one the embedded server runs"},
		{"nats-listen", def.NATS.Listen, "embedded NATS server client address"},
		{"http-listen", def.HTTPListen, `metrics and health address ("" disables)`},
		{"log-format", def.LogFormat, "log format: text or json"},
		{"log-level", def.LogLevel, "log level: trace, debug, info, warn or error"},
	} {
		values[f.name] = fs.String(f.name, f.value, f.usage)
	}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		var usage strings.Builder
		fs.SetOutput(&usage)
		fmt.Fprint(&usage, "Usage: statemgrd [flags]\n\nThe statemgr daemon. Without flags it runs on the defaults below and the\nbuilt-in simulated platform. Flags override the configuration file.\n\nThe same binary is the CLI and the demo service when called statemgr or\nstatemgr-demo-service (symlinks to it), or given the name first:\nstatemgrd statemgr --help.\n\nFlags:\n")
		fs.PrintDefaults()
		o.help = usage.String()
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("%w: %w (see statemgrd -h)", errConfig, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q (statemgrd takes flags only; see -h)", errConfig, fs.Arg(0))
	}
	// Only the flags given override the file.
	fs.Visit(func(f *flag.Flag) {
		if v, ok := values[f.Name]; ok {
			o.overrides[f.Name] = *v
		}
		if f.Name == "unconfigured" {
			o.overrides[f.Name] = strconv.FormatBool(*unconfigured)
		}
	})
	return o, nil
}

// load builds the configuration from defaults, the file and the flags, and
// checks it.
func load(o options) (Config, error) {
	cfg := defaultConfig()
	src := sources{flags: map[string]string{}}
	if o.configFile != "" {
		var err error
		if src.ranges, err = decodeConfigFile(o.configFile, &cfg); err != nil {
			return cfg, err
		}
		if cfg.NATS == nil {
			cfg.NATS = &NATSConfig{}
		}
		if cfg.NATS.Listen == "" {
			cfg.NATS.Listen = defaultNATSListen
		}
	}
	for name, v := range o.overrides {
		src.flags[flagAttrs[name]] = name
		switch name {
		case "data-dir":
			cfg.DataDir = v
		case "storage-profile":
			cfg.StorageProfile = v
		case "platform":
			cfg.PlatformFile = v
		case "nats-url":
			cfg.NATS.URL = v
		case "nats-listen":
			cfg.NATS.Listen = v
		case "http-listen":
			cfg.HTTPListen = v
		case "log-format":
			cfg.LogFormat = v
		case "log-level":
			cfg.LogLevel = v
		case "unconfigured":
			cfg.Unconfigured = v == "true"
		}
	}
	problems := cfg.check()
	if len(problems) == 0 {
		return cfg, nil
	}
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = src.locate(p)
	}
	return cfg, fmt.Errorf("%w:\n  %s", errConfig, strings.Join(lines, "\n  "))
}

// check returns every problem of the whole configuration, listeners and
// TLS files included, so that a mistake is reported before anything
// starts.
func (c Config) check() []configProblem {
	var problems []configProblem
	add := func(attr, format string, args ...any) {
		problems = append(problems, configProblem{attr, fmt.Sprintf(format, args...)})
	}
	if c.DataDir == "" {
		add("data_dir", "data_dir is empty: give a directory for the event log")
	}
	if c.Unconfigured && c.PlatformFile != "" {
		add("unconfigured", "unconfigured and platform_file %q contradict each other: give a platform file, or start unconfigured and set the platform through the API (statemgr config set)", c.PlatformFile)
	}
	if _, err := badger.ParseProfile(c.StorageProfile); err != nil {
		add("storage_profile", "%v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		add("log_format", "log format %q: use text or json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		add("log_level", "%v", err)
	}
	if _, err := time.ParseDuration(c.ShutdownGrace); err != nil {
		add("shutdown_grace", "shutdown_grace %q: %v", c.ShutdownGrace, err)
	}
	if c.HTTPListen != "" {
		problems = append(problems, checkListen("http_listen", c.HTTPListen)...)
	}
	_, _, _, policyProblems := c.Policy.coordinator()
	problems = append(problems, policyProblems...)
	problems = append(problems, c.Checkpoints.problems(c.DataDir)...)
	if c.NATS.URL == "" {
		problems = append(problems, checkListen("nats.listen", c.NATS.Listen)...)
		if p := c.NATS.MaxPayload; p != 0 && (p < minMaxPayload || p > maxMaxPayload) {
			add("nats.max_payload", "max_payload %d: give bytes from %d to %d (64 MiB, NATS's ceiling), or leave it out for 1 MiB", p, minMaxPayload, maxMaxPayload)
		}
		if c.NATS.TLS != nil {
			if _, err := loadTLS(c.NATS.TLS, time.Now()); err != nil {
				add(tlsAttribute(err), "%v", err)
			}
		}
	}
	for _, u := range c.NATS.Users {
		at := "nats.user." + u.Name + "."
		switch {
		case u.Role != "viewer" && u.Role != "operator" && u.Role != "service":
			add(at+"role", "user %q: role %q: use viewer, operator or service", u.Name, u.Role)
		case u.Role == "service" && u.Service == "":
			add(at+"role", "user %q: a service user names the service it reports for (service = \"...\")", u.Name)
		case u.Password == "":
			add(at+"password", "user %q: empty password", u.Name)
		}
	}
	return problems
}

// tlsAttribute is the attribute of the nats.tls block that err is about.
func tlsAttribute(err error) string {
	var fileErr *server.TLSFileError
	if errors.As(err, &fileErr) {
		switch fileErr.Role {
		case "key":
			return "nats.tls.key"
		case "CA":
			return "nats.tls.ca"
		}
	}
	return "nats.tls.cert"
}
