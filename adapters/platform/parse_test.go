package platform

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/adapters"
)

// minimal is a valid file every case below starts from.
const minimal = `
chassis "c0" {
  psu "psu0" {
    bus     = 3
    address = 88
    backend = "smbus"
  }
}
host "h0" {
  gpio "power_out" {
    line     = "PO"
    polarity = "active-low"
  }
  gpio "reset_out" {
    line     = "RO"
    polarity = "active-low"
  }
  gpio "power_good" {
    line     = "PG"
    polarity = "active-high"
  }
}
`

func mustParse(t *testing.T, src string) *Platform {
	t.Helper()
	p, err := Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// diagnostics parses src, which must fail, and returns its diagnostics.
func diagnostics(t *testing.T, src string) []Diagnostic {
	t.Helper()
	p, err := Parse("test.hcl", []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded: %+v", p)
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v, want *Error", err, err)
	}
	return pe.Diagnostics
}

// expectOne parses src and wants exactly one diagnostic, on line, whose
// message contains want.
func expectOne(t *testing.T, src string, line int, want string) {
	t.Helper()
	ds := diagnostics(t, src)
	if len(ds) != 1 {
		t.Fatalf("%d diagnostics, want 1:\n%v", len(ds), (&Error{Diagnostics: ds}).Error())
	}
	if ds[0].Line != line || !strings.Contains(ds[0].Message, want) || ds[0].File != "test.hcl" {
		t.Errorf("got %s\nwant line %d containing %q", ds[0], line, want)
	}
}

func TestMinimalDefaults(t *testing.T) {
	p := mustParse(t, minimal)
	if p.Timeouts != (Timeouts{200 * time.Millisecond, 4 * time.Second, 500 * time.Millisecond, 8 * time.Second, 300 * time.Second}) {
		t.Errorf("timeouts = %+v", p.Timeouts)
	}
	if p.BMC.Name != "0" {
		t.Errorf("BMC = %+v", p.BMC)
	}
	if h := p.Hosts[0]; h.Chassis != "c0" || h.Lines.PowerOut.Name != "PO" || h.Lines.NMIOut.Name != "" {
		t.Errorf("host = %+v", h)
	}
	if c := p.Chassis[0]; c.PSUs[0].Address != 0x58 || c.PSUs[0].Page != -1 || !reflect.DeepEqual(c.Sequence, []string{"psu0"}) {
		t.Errorf("chassis = %+v", c)
	}
}

func TestFullFile(t *testing.T) {
	src := minimal + `
timeouts {
  power_pulse    = "250ms"
  force_off_hold = "15s"
}
service "db" {
  command = "/usr/bin/db"
}
service "sync" {
  command      = "/usr/bin/sync"
  args         = ["--fast", "-v"]
  env          = { LEVEL = "debug" }
  working_dir  = "/var/lib/sync"
  user         = "sync"
  after        = ["db"]
  stop_signal  = "int"
  stop_timeout = "30s"
  restart {
    policy    = "always"
    delay     = "2s"
    max_delay = "1m"
  }
  start_limit {
    count    = 3
    interval = "1m"
  }
  readiness {
    kind     = "http"
    url      = "http://127.0.0.1:8080/ready"
    interval = "1s"
    timeout  = "500ms"
  }
  liveness {
    kind      = "tcp"
    address   = "127.0.0.1:8080"
    threshold = 5
  }
}
thermal_zone "inlet" {
  warning  = 40
  critical = 50
  sensor "psu0_temp" {
    backend = "psu"
    psu     = "psu0"
  }
  sensor "board" {
    backend = "hwmon"
    path    = "/sys/class/hwmon/hwmon2"
  }
}
machine "service.sync" {
  state "degraded" {
    kind       = "transitional"
    timeout    = "30s"
    timeout_to = "failed"
  }
  transition {
    from    = "running"
    trigger = "liveness_failed"
    to      = "degraded"
    effects = ["notify"]
  }
}
`
	p := mustParse(t, src)
	if p.Timeouts.PowerPulse != 250*time.Millisecond || p.Timeouts.ForceOffHold != 15*time.Second || p.Timeouts.ResetPulse != DefaultResetPulse {
		t.Errorf("timeouts = %+v", p.Timeouts)
	}
	// Seed 002's supervisor defaults: a 1 s restart delay, a 90 s graceful stop.
	db := p.Services[0]
	if db.StopTimeout != 90*time.Second || db.StopSignal != "SIGTERM" || db.Restart.Policy != RestartOnFailure ||
		db.Restart.Delay != time.Second ||
		db.StartLimit != (StartLimit{5, 10 * time.Second}) || db.Readiness != nil {
		t.Errorf("db defaults = %+v", db)
	}
	want := Service{
		Name: "sync", Command: "/usr/bin/sync", Args: []string{"--fast", "-v"}, Env: map[string]string{"LEVEL": "debug"},
		WorkingDir: "/var/lib/sync", User: "sync", After: []string{"db"}, StopSignal: "SIGINT", StopTimeout: 30 * time.Second,
		Restart:    RestartPolicy{Policy: RestartAlways, Delay: 2 * time.Second, MaxDelay: time.Minute},
		StartLimit: StartLimit{Count: 3, Interval: time.Minute},
		Readiness:  &Check{Kind: CheckHTTP, URL: "http://127.0.0.1:8080/ready", Interval: time.Second, Timeout: 500 * time.Millisecond, Threshold: 3},
		Liveness:   &Check{Kind: CheckTCP, Address: "127.0.0.1:8080", Interval: 10 * time.Second, Timeout: 5 * time.Second, Threshold: 5},
	}
	if !reflect.DeepEqual(p.Services[1], want) {
		t.Errorf("service =\n%+v\nwant\n%+v", p.Services[1], want)
	}
	wantZone := ThermalZone{Name: "inlet", Warning: 40, Critical: 50, Sensors: []Sensor{
		{Name: "psu0_temp", Backend: SensorPSU, PSU: "psu0"},
		{Name: "board", Backend: SensorHwmon, HwmonDir: "/sys/class/hwmon/hwmon2", Index: 1},
	}}
	if !reflect.DeepEqual(p.Thermal[0], wantZone) {
		t.Errorf("zone = %+v", p.Thermal[0])
	}
	line := strings.Count(src[:strings.Index(src, `machine "service.sync"`)], "\n") + 1
	wantExt := machine.Extension{
		Machine: "service.sync",
		Source:  "test.hcl:" + strconv.Itoa(line) + ",1",
		States: []machine.State{{Name: "degraded", Kind: machine.Transitional, Timeout: 30 * time.Second,
			TimeoutTo: "failed", Source: "test.hcl:" + strconv.Itoa(line+1) + ",3"}},
		Transitions: []machine.Transition{{From: "running", Trigger: "liveness_failed", To: "degraded",
			Effects: []string{"notify"}, Source: "test.hcl:" + strconv.Itoa(line+6) + ",3"}},
	}
	if !reflect.DeepEqual(p.Extensions, []machine.Extension{wantExt}) {
		t.Errorf("extensions =\n%+v\nwant\n%+v", p.Extensions, wantExt)
	}
}

// Ensure the BMC's reset method is read, defaults to none, and a value
// outside the list is refused with its location.
func TestBMCReset(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want BMCReset
		err  string
	}{
		{"", BMCResetNone, ""},
		{`bmc "0" {}`, BMCResetNone, ""},
		{`bmc "0" { reset = "restart-daemon" }`, BMCResetRestartDaemon, ""},
		{`bmc "0" { reset = "reboot" }`, "", `bmc.hcl:1:19: reset "reboot" is not one of none, restart-daemon`},
	} {
		p, err := Parse("bmc.hcl", []byte(tc.src))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %s", tc.src, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.src, err)
		case tc.err == "" && p.BMC.Reset != tc.want:
			t.Errorf("%q: reset %q, want %q", tc.src, p.BMC.Reset, tc.want)
		}
	}
}

// The poll periods come from the polls block; without one, 1 s each.
func TestPolls(t *testing.T) {
	if p := mustParse(t, minimal); p.Polls != (Polls{PSU: time.Second, Thermal: time.Second}) {
		t.Errorf("default polls = %+v", p.Polls)
	}
	p := mustParse(t, minimal+"polls {\n  psu = \"5s\"\n  thermal = \"2500ms\"\n}\n")
	if p.Polls != (Polls{PSU: 5 * time.Second, Thermal: 2500 * time.Millisecond}) {
		t.Errorf("polls = %+v", p.Polls)
	}
	if p := mustParse(t, minimal+"polls {\n  thermal = \"3s\"\n}\n"); p.Polls != (Polls{PSU: time.Second, Thermal: 3 * time.Second}) {
		t.Errorf("polls with only thermal = %+v", p.Polls)
	}
}

func TestPollMistakes(t *testing.T) {
	line := strings.Count(minimal, "\n") + 2 // the attribute's line, after "polls {"
	for _, c := range []struct{ body, want string }{
		{`psu = "10ms"`, "polls psu: 10ms is outside 100ms..1m0s"},
		{`thermal = "2m"`, "polls thermal: 2m0s is outside 100ms..1m0s"},
		{`psu = "often"`, `psu: "often" is not a duration`},
		{`thermal = "0s"`, "thermal: 0s must be positive"},
		{`fan = "1s"`, `An argument named "fan" is not expected here`},
	} {
		t.Run(c.body, func(t *testing.T) {
			expectOne(t, minimal+"polls {\n  "+c.body+"\n}\n", line, c.want)
		})
	}
	ds := diagnostics(t, minimal+"polls {}\npolls {}\n")
	if len(ds) != 1 || !strings.Contains(ds[0].Message, "polls") {
		t.Errorf("two polls blocks: %v", ds)
	}
}

// A gpio block may give its line by chip and offset instead of by name,
// for a board whose device tree names no lines: the chip by name or
// label, the offset on it; the line's Name is "<chip>:<offset>" for logs.
func TestGPIOByChipAndOffset(t *testing.T) {
	src := strings.Replace(minimal, `line     = "PG"`, "chip   = \"1e780000.gpio\"\n    offset = 10", 1)
	p := mustParse(t, src)
	want := adapters.LineConfig{Name: "1e780000.gpio:10", Polarity: adapters.ActiveHigh, Chip: "1e780000.gpio", Offset: 10}
	if got := p.Hosts[0].Lines.PowerGood; got != want {
		t.Fatalf("power_good = %+v, want %+v", got, want)
	}
	if got := p.Hosts[0].Lines.PowerOut; got.Chip != "" || got.Name != "PO" {
		t.Fatalf("power_out by name = %+v", got)
	}
}
