package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
)

func TestConfigLayers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "statemgrd.hcl")
	if err := os.WriteFile(file, []byte(`
data_dir        = "/srv/statemgr"
storage_profile = "server"
log_format      = "json"
log_level       = "debug"
nats {
  listen = "0.0.0.0:4222"
  user "alice" {
    password = "s3cret"
    role     = "operator"
  }
  user "sync" {
    password = "x"
    role     = "service"
    service  = "sync"
  }
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-config", file, "-log-level", "warn", "-http-listen", ""})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := load(o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/srv/statemgr" || cfg.StorageProfile != "server" || cfg.LogFormat != "json" {
		t.Errorf("file not applied: %+v", cfg)
	}
	if cfg.LogLevel != "warn" || cfg.HTTPListen != "" {
		t.Errorf("flags must override the file: level %q, http %q", cfg.LogLevel, cfg.HTTPListen)
	}
	if cfg.NATS.Listen != "0.0.0.0:4222" || len(cfg.NATS.Users) != 2 || cfg.NATS.Users[1].Service != "sync" {
		t.Errorf("nats block: %+v", cfg.NATS)
	}
	if cfg.ShutdownGrace != "10s" {
		t.Errorf("defaults lost: shutdown grace %q", cfg.ShutdownGrace)
	}
}

func TestConfigErrorsSayWhatToFix(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		file  string
		flags []string
		want  string
	}{
		"bad profile":        {flags: []string{"-storage-profile", "tiny"}, want: `unknown storage profile "tiny"`},
		"bad log format":     {flags: []string{"-log-format", "xml"}, want: `log format "xml"`},
		"bad level":          {flags: []string{"-log-level", "loud"}, want: `log level "loud"`},
		"unknown flag":       {flags: []string{"-colour"}, want: "flag provided but not defined"},
		"stray argument":     {flags: []string{"run"}, want: `unexpected argument "run"`},
		"service no name":    {file: "nats {\n user \"s\" {\n password = \"p\"\n role = \"service\"\n }\n}\n", want: "names the service"},
		"unknown role":       {file: "nats {\n user \"s\" {\n password = \"p\"\n role = \"admin\"\n }\n}\n", want: `role "admin"`},
		"syntax error":       {file: "data_dir = \n", want: "statemgrd.hcl:"},
		"unknown attribute":  {file: "dta_dir = \"x\"\n", want: "dta_dir"},
		"bad restore policy": {file: "policy {\n power_restore = \"Sometimes\"\n}\n", want: `power_restore "Sometimes"`},
		"bad chassis policy": {file: "policy {\n chassis_off = \"yolo\"\n}\n", want: `chassis_off "yolo"`},
		"bad restore delay":  {file: "policy {\n power_restore_delay = \"soon\"\n}\n", want: `power_restore_delay "soon"`},
		"bad emergency":      {file: "policy {\n thermal_critical = \"panic\"\n}\n", want: `thermal_critical "panic"`},
		"tiny max payload":   {file: "nats {\n max_payload = 100\n}\n", want: "max_payload 100: give bytes from 4096"},
		"huge max payload":   {file: "nats {\n max_payload = 1073741824\n}\n", want: "max_payload 1073741824"},
		"unconfigured with a platform": {file: "platform_file = \"/etc/p.hcl\"\n", flags: []string{"-unconfigured"},
			want: "flag -unconfigured: unconfigured and platform_file \"/etc/p.hcl\" contradict"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			flags := c.flags
			if c.file != "" {
				path := filepath.Join(dir, "statemgrd.hcl")
				if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
					t.Fatal(err)
				}
				flags = append([]string{"-config", path}, flags...)
			}
			o, err := parseFlags(flags)
			if err == nil {
				_, err = load(o)
			}
			if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want errConfig mentioning %q", err, c.want)
			}
		})
	}
}

// The example configuration in the repository loads as it is.
func TestExampleConfigLoads(t *testing.T) {
	o, err := parseFlags([]string{"-config", "statemgrd.example.hcl"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := load(o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policy == nil || cfg.Policy.PowerRestore != "AlwaysOff" || len(cfg.NATS.Users) != 2 {
		t.Fatalf("example config = %+v, policy %+v", cfg, cfg.Policy)
	}
}

// nats.max_payload reaches the embedded server, so a reply_too_large's
// hint (raise max_payload) is one the operator can follow.
func TestMaxPayloadReachesTheEmbeddedServer(t *testing.T) {
	ns, nc, err := connectNATS(&NATSConfig{Listen: "127.0.0.1:-1", MaxPayload: 4 << 20}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	defer nc.Close()
	if got := nc.MaxPayload(); got != 4<<20 {
		t.Fatalf("the daemon's connection has max payload %d, want %d", got, 4<<20)
	}
}

// Users on a listener beyond loopback without TLS are a configuration
// error unless allow_cleartext says so: the check refuses before binding.
func TestCleartextUsersBeyondLoopbackRefused(t *testing.T) {
	cfg := &NATSConfig{Listen: "0.0.0.0:4222", Users: []UserConfig{{Name: "alice", Password: "s3cret", Role: "operator"}}}
	ns, nc, err := connectNATS(cfg, hclog.NewNullLogger())
	if ns != nil {
		nc.Close()
		ns.Shutdown()
	}
	if !errors.Is(err, errConfig) || !errors.Is(err, server.ErrCleartextCredentials) {
		t.Fatalf("connectNATS = %v, want a configuration error refusing cleartext credentials", err)
	}
}

// TestStartupFilesHaveTheValidateLimits: the config file and the platform
// file get the limits of statemgr.validate's sources, as located errors.
// Before, the config file went straight to hclsimple, which overflowed its
// stack on 150,000 nested brackets and killed the daemon at start.
func TestStartupFilesHaveTheValidateLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const deep = 150000
	sources := map[string]string{
		"brackets.hcl":  "log_level = " + strings.Repeat("[", deep) + strings.Repeat("]", deep) + "\n",
		"calls.hcl":     "log_level = " + strings.Repeat("f(", deep) + "1" + strings.Repeat(")", deep) + "\n",
		"templates.hcl": "log_level = " + strings.Repeat(`"${`, deep/3) + "1" + strings.Repeat(`}"`, deep/3) + "\n",
		"blocks.hcl":    strings.Repeat("nats {}\n", platform.MaxBlocks+1),
		"huge.hcl":      "# " + strings.Repeat("x", platform.MaxSourceBytes) + "\n",
	}
	for name, src := range sources {
		path := write(name, src)
		_, err := load(options{configFile: path})
		if !errors.Is(err, errConfig) || !errors.Is(err, platform.ErrTooComplex) || !strings.Contains(err.Error(), path+":") {
			t.Errorf("config %s: %v, want a located errConfig wrapping platform.ErrTooComplex", name, err)
		}
		if _, err := readPlatform(path, server.OriginFile); !errors.Is(err, platform.ErrTooComplex) || !strings.Contains(err.Error(), path+":") {
			t.Errorf("platform %s: %v, want a located platform.ErrTooComplex", name, err)
		}
	}
}

// Bad TLS files are configuration errors found by load, before anything
// binds, each naming the file, what is wrong and what to do.
func TestBadTLSFilesRefusedAtLoad(t *testing.T) {
	ca := servertest.NewCA(t)
	good := ca.Issue(t, servertest.Cert{Name: "good", Hosts: []string{"localhost"}})
	other := ca.Issue(t, servertest.Cert{Name: "other", Hosts: []string{"localhost"}})
	expired := ca.Issue(t, servertest.Cert{Name: "old", NotAfter: time.Now().Add(-time.Hour)})
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct{ cert, key, ca, want string }{
		{missing, good.Key, "", "TLS certificate " + missing + ": file does not exist: check the path"},
		{good.Cert, other.Key, "", "private key does not match the certificate"},
		{expired.Cert, expired.Key, "", "certificate has expired"},
		{good.Cert, good.Key, good.Key, "TLS CA " + good.Key + ": file holds no PEM block"},
	} {
		path := filepath.Join(t.TempDir(), "statemgrd.hcl")
		src := fmt.Sprintf("nats {\n  tls {\n    cert = %q\n    key = %q\n    ca = %q\n  }\n}\n", tc.cert, tc.key, tc.ca)
		if tc.ca == "" {
			src = fmt.Sprintf("nats {\n  tls {\n    cert = %q\n    key = %q\n  }\n}\n", tc.cert, tc.key)
		}
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := load(options{configFile: path}); !errors.Is(err, errConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("load with %s: %v, want a configuration error saying %q", src, err, tc.want)
		}
	}
}
