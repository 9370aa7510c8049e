package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadFile loads a configuration file of the given text with flags.
func loadFile(t *testing.T, text string, flags ...string) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "statemgrd.hcl")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags(append([]string{"-config", path}, flags...))
	if err != nil {
		t.Fatal(err)
	}
	_, err = load(o)
	return path, err
}

// Every problem is reported, each where it is: file:line:col of its value,
// or the flag that set it.
func TestConfigProblemsNameTheirLocation(t *testing.T) {
	path, err := loadFile(t, `log_level = "loud"
http_listen = "9090"
policy {
  chassis_off = "rejct"
  power_restore_delay = "soon"
}
nats {
  listen = "127.0.0.1:99999"
  user "otto" {
    password = "pw"
    role     = "admin"
  }
}
`, "-log-format", "xml")
	if !errors.Is(err, errConfig) {
		t.Fatalf("load = %v, want errConfig", err)
	}
	for _, want := range []string{
		path + `:1:13: log level "loud"`,
		path + `:2:15: http_listen "9090"`,
		path + `:4:17: policy chassis_off "rejct"`,
		path + `:5:25: policy power_restore_delay "soon"`,
		path + `:8:12: nats.listen "127.0.0.1:99999": port "99999"`,
		path + `:11:16: user "otto": role "admin"`,
		`flag -log-format: log format "xml"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// HCL's own diagnostics: all of them, each with file:line:col.
func TestConfigDiagnosticsAllReported(t *testing.T) {
	path, err := loadFile(t, "dta_dir = \"x\"\nlog_levle = \"info\"\n")
	if !errors.Is(err, errConfig) {
		t.Fatalf("load = %v, want errConfig", err)
	}
	for _, want := range []string{path + ":1:1: Unsupported argument", path + ":2:1: Unsupported argument", `"dta_dir"`, `"log_levle"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestConfigFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.hcl")
	o, err := parseFlags([]string{"-config", path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = load(o)
	if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), "configuration file "+path+" does not exist") || strings.Contains(err.Error(), "<nil>") {
		t.Fatalf("load = %v, want a clear missing-file error", err)
	}
}

// A listener address in use (metrics or NATS) fails the start before the
// log, the hardware or any service has started: nothing is created in the
// data directory.
func TestListenerInUseFailsBeforeAnythingStarts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for name, c := range map[string]struct {
		http, nats, want string
	}{
		"http": {http: busy.Addr().String(), nats: freeAddr(t), want: "cannot listen for metrics and health"},
		"nats": {http: freeAddr(t), nats: busy.Addr().String(), want: "address already in use"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			var stderr bytes.Buffer
			code := run([]string{"-data-dir", dir, "-http-listen", c.http, "-nats-listen", c.nats}, &bytes.Buffer{}, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("exit %d, want %q; stderr:\n%s", code, c.want, stderr.String())
			}
			if strings.Contains(stderr.String(), "recovered") {
				t.Fatalf("the daemon recovered components before finding the address in use:\n%s", stderr.String())
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("data directory created before the listeners were bound: %v", err)
			}
		})
	}
}
