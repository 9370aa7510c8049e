package platform

import (
	"fmt"
	"strings"
	"testing"
)

// edit returns minimal with old replaced by new (which must occur).
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(minimal, old) {
		t.Fatalf("minimal has no %q", old)
	}
	return strings.Replace(minimal, old, new, 1)
}

func TestSingleMistakes(t *testing.T) {
	tests := []struct {
		name string
		src  func(t *testing.T) string
		line int
		want string
	}{
		{"address too high", func(t *testing.T) string { return edit(t, "address = 88", `address = "0x78"`) }, 5, "outside the 7-bit device range 0x03..0x77"},
		{"address too low", func(t *testing.T) string { return edit(t, "address = 88", `address = 2`) }, 5, "0x02 is outside"},
		{"address not a number", func(t *testing.T) string { return edit(t, "address = 88", `address = "psu"`) }, 5, `"psu" is not a number`},
		{"bad backend", func(t *testing.T) string { return edit(t, `backend = "smbus"`, `backend = "i2c"`) }, 6, `backend "i2c" is not one of smbus, hwmon, sim`},
		{"page out of range", func(t *testing.T) string { return edit(t, "bus     = 3", "bus = 3\n    page = 32") }, 5, "page 32 is out of range 0..31"},
		{"bad polarity", func(t *testing.T) string { return edit(t, `polarity = "active-high"`, `polarity = "high"`) }, 20, `polarity "high" is not one of active-high, active-low`},
		{"missing host line", func(t *testing.T) string {
			return edit(t, "gpio \"reset_out\" {\n    line     = \"RO\"\n    polarity = \"active-low\"\n  }\n", "")
		}, 9, `host "h0" has no gpio "reset_out"`},
		{"unknown gpio role", func(t *testing.T) string {
			return edit(t, "host \"h0\" {\n", "host \"h0\" {\n  gpio \"reboot_out\" {\n    line = \"X\"\n    polarity = \"active-low\"\n  }\n")
		}, 10, `unknown gpio role "reboot_out"`},
		{"empty line name", func(t *testing.T) string { return edit(t, `line     = "RO"`, `line = ""`) }, 15, "line must not be empty"},
		{"line used twice", func(t *testing.T) string { return edit(t, `line     = "RO"`, `line = "PO"`) }, 15, `line "PO" is already used by host h0 power_out at test.hcl:11:16`},
		{"gpio by line and chip", func(t *testing.T) string {
			return edit(t, `line     = "RO"`, "line = \"RO\"\n    chip = \"gpiochip0\"")
		}, 16, `gpio "reset_out": give the line by name (line) or by chip and offset, not both`},
		{"gpio chip without offset", func(t *testing.T) string { return edit(t, `line     = "RO"`, `chip = "gpiochip0"`) }, 15, `gpio "reset_out": chip needs offset`},
		{"gpio offset without chip", func(t *testing.T) string { return edit(t, `line     = "RO"`, `offset = 3`) }, 15, `gpio "reset_out": offset needs chip`},
		{"gpio without line or chip", func(t *testing.T) string { return edit(t, `line     = "RO"`, ``) }, 14, `gpio "reset_out" needs line = "NAME" (the device tree's gpio-line-names) or chip = "gpiochip0" with offset = N`},
		{"gpio negative offset", func(t *testing.T) string { return edit(t, `line     = "RO"`, "chip = \"gpiochip0\"\n    offset = -1") }, 16, "offset -1 is out of range 0..65535"},
		{"gpio empty chip", func(t *testing.T) string { return edit(t, `line     = "RO"`, "chip = \"\"\n    offset = 1") }, 15, "chip must not be empty"},
		{"gpio chip and offset used twice", func(t *testing.T) string {
			src := edit(t, `line     = "RO"`, "chip = \"gpiochip0\"\n    offset = 8")
			return strings.Replace(src, `line     = "PO"`, "chip = \"gpiochip0\"\n    offset = 8", 1)
		}, 16, `line "gpiochip0:8" is already used by host h0 power_out at test.hcl:11:12`},
		{"duplicate psu", func(t *testing.T) string {
			return edit(t, "  }\n}\nhost", "  }\n  psu \"psu0\" {\n    bus = 1\n    address = 89\n    backend = \"sim\"\n  }\n}\nhost")
		}, 8, `duplicate psu "psu0" (first defined at test.hcl:3:7)`},
		{"unknown psu in sequence", func(t *testing.T) string {
			return edit(t, "  }\n}\nhost", "  }\n  sequence = [\"psu0\", \"psu9\"]\n}\nhost")
		}, 8, `sequence names unknown psu "psu9"`},
		{"psu missing from sequence", func(t *testing.T) string { return edit(t, "  }\n}\nhost", "  }\n  sequence = []\n}\nhost") }, 8, `sequence leaves out psu "psu0"`},
		{"unknown chassis", func(t *testing.T) string { return edit(t, "host \"h0\" {\n", "host \"h0\" {\n  chassis = \"c9\"\n") }, 10, `unknown chassis "c9"`},
		{"duplicate host", func(t *testing.T) string {
			again := strings.NewReplacer(`"PO"`, `"PO2"`, `"RO"`, `"RO2"`, `"PG"`, `"PG2"`).Replace(minimal[strings.Index(minimal, "host"):])
			return minimal + again
		}, 23, `duplicate host "h0" (first defined at test.hcl:9:6)`},
		{"host without chassis among two", func(t *testing.T) string {
			return minimal + "chassis \"c1\" {\n  psu \"psu1\" {\n    bus = 1\n    address = 89\n    backend = \"hwmon\"\n  }\n}\n"
		}, 9, `host "h0" must name its chassis`},
		{"host without any chassis", func(t *testing.T) string { return minimal[strings.Index(minimal, "host"):] }, 1, `host "h0" has no chassis to power it`},
		{"duplicate chassis", func(t *testing.T) string { return minimal + "chassis \"c0\" {}\n" }, 23, `duplicate chassis "c0"`},
		{"duplicate zone", func(t *testing.T) string {
			z := "thermal_zone \"z\" {\n  warning = 80\n  critical = 90\n  sensor \"s%d\" {\n    backend = \"sim\"\n  }\n}\n"
			return minimal + fmt.Sprintf(z, 1) + fmt.Sprintf(z, 2)
		}, 30, `duplicate thermal zone "z"`},
		{"duplicate sensor", func(t *testing.T) string {
			z := "thermal_zone \"z%d\" {\n  warning = 80\n  critical = 90\n  sensor \"s\" {\n    backend = \"sim\"\n  }\n}\n"
			return minimal + fmt.Sprintf(z, 1) + fmt.Sprintf(z, 2)
		}, 33, `duplicate sensor "s" (first defined at test.hcl:26:10)`},
		{"sensor attribute of another backend", func(t *testing.T) string {
			return minimal + "thermal_zone \"z\" {\n  warning = 80\n  critical = 90\n  sensor \"s\" {\n    backend = \"sim\"\n    index = 2\n  }\n}\n"
		}, 28, `index does not apply to a sensor with backend "sim"`},
		{"bad name", func(t *testing.T) string { return edit(t, `host "h0"`, `host "h.0"`) }, 9, `host name "h.0"`},
		{"unknown attribute", func(t *testing.T) string { return edit(t, "bus     = 3", "bus = 3\n    speed = 400") }, 5, "Unsupported argument"},
		{"missing attribute", func(t *testing.T) string { return edit(t, "    bus     = 3\n", "") }, 3, `Missing required argument: The argument "bus" is required`},
		{"wrong type", func(t *testing.T) string { return edit(t, "bus     = 3", `bus = "three"`) }, 4, "Unsuitable value type"},
		{"syntax error", func(t *testing.T) string { return edit(t, "bus     = 3", "bus = = 3") }, 4, "Invalid expression"},
		{"duration without unit", func(t *testing.T) string { return minimal + "timeouts {\n  power_pulse = 200\n}\n" }, 24, `power_pulse: "200" is not a duration`},
		{"negative duration", func(t *testing.T) string { return minimal + "timeouts {\n  reset_pulse = \"-1s\"\n}\n" }, 24, "reset_pulse: -1s must be positive"},
		{"force off too long", func(t *testing.T) string { return minimal + "timeouts {\n  force_off_hold = \"16s\"\n}\n" }, 24, "force_off_hold 16s is longer than the 15s allowed"},
		{"two timeouts blocks", func(t *testing.T) string { return minimal + "timeouts {}\ntimeouts {}\n" }, 24, "duplicate timeouts block"},
		{"critical below warning", func(t *testing.T) string {
			return minimal + "thermal_zone \"z\" {\n  warning = 80\n  critical = 70\n  sensor \"s\" {\n    backend = \"sim\"\n  }\n}\n"
		}, 25, "critical limit 70 °C must be above the warning limit 80 °C"},
		{"zone without sensor", func(t *testing.T) string {
			return minimal + "thermal_zone \"z\" {\n  warning = 80\n  critical = 90\n}\n"
		}, 23, `thermal zone "z" has no sensor`},
		{"sensor of unknown psu", func(t *testing.T) string {
			return minimal + "thermal_zone \"z\" {\n  warning = 80\n  critical = 90\n  sensor \"s\" {\n    backend = \"psu\"\n    psu = \"psu7\"\n  }\n}\n"
		}, 28, `unknown psu "psu7"`},
		{"hwmon sensor without path", func(t *testing.T) string {
			return minimal + "thermal_zone \"z\" {\n  warning = 80\n  critical = 90\n  sensor \"s\" {\n    backend = \"hwmon\"\n  }\n}\n"
		}, 26, `sensor "s" with backend "hwmon" needs path`},
		{"unknown dependency", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  after = [\"b\"]\n}\n"
		}, 25, `unknown service "b"`},
		{"self dependency", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  before = [\"a\"]\n}\n"
		}, 25, `service "a" cannot depend on itself`},
		{"duplicate service", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n}\nservice \"a\" {\n  command = \"/b\"\n}\n"
		}, 26, `duplicate service "a" (first defined at test.hcl:23:9)`},
		{"empty command", func(t *testing.T) string { return minimal + "service \"a\" {\n  command = \"\"\n}\n" }, 24, "command must not be empty"},
		{"relative working dir", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  working_dir = \"tmp\"\n}\n"
		}, 25, "must be an absolute path"},
		{"bad stop signal", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  stop_signal = \"SIGFOO\"\n}\n"
		}, 25, `stop_signal "SIGFOO" is not one of`},
		{"bad restart policy", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  restart {\n    policy = \"sometimes\"\n  }\n}\n"
		}, 26, `policy "sometimes" is not one of always, on-failure, never`},
		{"backoff cap below delay", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  restart {\n    delay = \"10s\"\n    max_delay = \"5s\"\n  }\n}\n"
		}, 25, "restart max_delay 5s is shorter than delay 10s"},
		{"start limit count", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  start_limit {\n    count = 0\n  }\n}\n"
		}, 26, "count 0 is out of range 1..1000"},
		{"http check without url", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  readiness {\n    kind = \"http\"\n  }\n}\n"
		}, 25, `a "http" readiness check needs url`},
		{"check with foreign attribute", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  readiness {\n    kind = \"report\"\n    url = \"http://x/\"\n  }\n}\n"
		}, 27, "url does not apply to a readiness check"},
		{"check timeout above interval", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  liveness {\n    kind = \"command\"\n    command = [\"/check\"]\n    interval = \"1s\"\n    timeout = \"2s\"\n  }\n}\n"
		}, 25, "liveness timeout 2s is longer than its interval 1s"},
		{"tcp address without port", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  liveness {\n    kind = \"tcp\"\n    address = \"localhost\"\n  }\n}\n"
		}, 27, `address "localhost" must be host:port`},
		{"report liveness", func(t *testing.T) string {
			return minimal + "service \"a\" {\n  command = \"/a\"\n  liveness {\n    kind = \"report\"\n  }\n}\n"
		}, 25, "liveness cannot be of kind"},
		{"machine of unknown kind", func(t *testing.T) string {
			return minimal + "machine \"fan\" {\n  transition {\n    from = \"a\"\n    trigger = \"t\"\n    to = \"b\"\n  }\n}\n"
		}, 23, `machine "fan": extend one of host, chassis, bmc, service`},
		{"machine of unknown component", func(t *testing.T) string {
			return minimal + "machine \"host.h9\" {\n  transition {\n    from = \"a\"\n    trigger = \"t\"\n    to = \"b\"\n  }\n}\n"
		}, 23, `machine "host.h9": no host named "h9"`},
		{"empty machine", func(t *testing.T) string { return minimal + "machine \"host\" {}\n" }, 23, `machine "host" adds no state and no transition`},
		{"timeout without target", func(t *testing.T) string {
			return minimal + "machine \"host.h0\" {\n  state \"warm\" {\n    kind = \"transitional\"\n    power = \"off\"\n    timeout = \"1s\"\n  }\n}\n"
		}, 24, `state "warm": timeout and timeout_to go together`},
		{"bad state kind", func(t *testing.T) string {
			return minimal + "machine \"chassis\" {\n  state \"x\" {\n    kind = \"odd\"\n    power = \"on\"\n  }\n}\n"
		}, 25, `kind "odd" is not one of stable, transitional, error`},
		{"host state without power", func(t *testing.T) string {
			return minimal + "machine \"host\" {\n  state \"warm\" {\n    kind = \"stable\"\n  }\n}\n"
		}, 24, `state "warm": a host state needs power, what power good reads in it: write power = "on" | "off" | "any"`},
		{"chassis state with a bad power", func(t *testing.T) string {
			return minimal + "machine \"chassis.c0\" {\n  state \"x\" {\n    kind = \"stable\"\n    power = \"maybe\"\n  }\n}\n"
		}, 26, `state "x": power "maybe" is not one of "on", "off", "any"; write power = "on" | "off" | "any"`},
		{"service state with power", func(t *testing.T) string {
			return minimal + "machine \"service\" {\n  state \"x\" {\n    kind = \"stable\"\n    power = \"on\"\n  }\n}\n"
		}, 26, `state "x": a service state has no power good; remove power (only host and chassis states take one)`},
		{"bmc state with power", func(t *testing.T) string {
			return minimal + "machine \"bmc\" {\n  state \"x\" {\n    kind = \"stable\"\n    power = \"off\"\n  }\n}\n"
		}, 26, `state "x": a bmc state has no power good; remove power`},
		{"duplicate state", func(t *testing.T) string {
			return minimal + "machine \"bmc.0\" {\n  state \"x\" {\n    kind = \"stable\"\n  }\n  state \"x\" {\n    kind = \"stable\"\n  }\n}\n"
		}, 27, `duplicate state "x"`},
		{"transition missing trigger", func(t *testing.T) string {
			return minimal + "machine \"service\" {\n  transition {\n    from = \"a\"\n    to = \"b\"\n  }\n}\n"
		}, 24, `The argument "trigger" is required`},
		{"variables not allowed", func(t *testing.T) string { return edit(t, "bus     = 3", "bus = var.bus") }, 4, "Variables not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectOne(t, tt.src(t), tt.line, tt.want) })
	}
}

func TestDependencyCycles(t *testing.T) {
	src := minimal + `service "a" {
  command = "/a"
  after   = ["b"]
  before  = ["c"]
}
service "b" {
  command = "/b"
}
service "c" {
  command = "/c"
  before  = ["b"]
}
service "ok" {
  command = "/ok"
  after   = ["a", "b"]
}
service "x" {
  command = "/x"
  after   = ["y"]
}
service "y" {
  command = "/y"
  after   = ["x"]
}
`
	ds := diagnostics(t, src)
	if len(ds) != 2 {
		t.Fatalf("%d diagnostics, want 2:\n%v", len(ds), (&Error{Diagnostics: ds}).Error())
	}
	// a needs b (after), b needs c (c before b), c needs a (a before c).
	if !strings.Contains(ds[0].Message, "service dependency cycle: a → b → c → a") || ds[0].Line != 23 {
		t.Errorf("first cycle: %s", ds[0])
	}
	if !strings.Contains(ds[1].Message, "service dependency cycle: x → y → x") {
		t.Errorf("second cycle: %s", ds[1])
	}
}

func TestManyMistakesEachWithItsLine(t *testing.T) {
	src := `timeouts {
  power_pulse    = "fast"
  force_off_hold = "20s"
}
chassis "c0" {
  psu "psu0" {
    bus     = 3
    address = "0x7f"
    backend = "smbus"
  }
  sequence = ["psu0", "psu1"]
}
host "0" {
  gpio "power_out" {
    line     = "POWER_OUT"
    polarity = "active_low"
  }
  gpio "power_good" {
    line     = "PS_PWROK"
    polarity = "active-high"
  }
}
service "sync" {
  command = "/usr/bin/sync"
  after   = ["network"]
}
`
	ds := diagnostics(t, src)
	want := []struct {
		line int
		text string
	}{
		{2, `power_pulse: "fast" is not a duration`},
		{3, "force_off_hold 20s is longer than the 15s allowed"},
		{8, "0x7F is outside the 7-bit device range"},
		{11, `sequence names unknown psu "psu1"`},
		{13, `host "0" has no gpio "reset_out"`},
		{16, `polarity "active_low" is not one of`},
		{25, `unknown service "network"`},
	}
	if len(ds) != len(want) {
		t.Fatalf("%d diagnostics, want %d:\n%v", len(ds), len(want), (&Error{Diagnostics: ds}).Error())
	}
	for i, w := range want {
		if ds[i].Line != w.line || !strings.Contains(ds[i].Message, w.text) {
			t.Errorf("diagnostic %d = %s; want line %d containing %q", i, ds[i], w.line, w.text)
		}
	}
	_, err := Parse("board.hcl", []byte(src))
	first := strings.Split(err.Error(), "\n")[0]
	if !strings.HasPrefix(first, "board.hcl:2:20: ") {
		t.Errorf("first line of the error %q, want file:line:col: message", first)
	}
}

func TestGarbageDoesNotPanic(t *testing.T) {
	for _, src := range []string{"", "{", "}", "chassis", `chassis "" {}`, `host {}`, "\x00\xff", `machine "" { state "" {} }`, `service "s" { restart {} restart {} }`} {
		_, _ = Parse("x.hcl", []byte(src))
	}
}

func TestTypeErrorReportedOnce(t *testing.T) {
	expectOne(t, minimal+"service \"a\" {\n  command = \"/a\"\n  after = \"b\"\n}\n", 25, "Unsuitable value type")
}
