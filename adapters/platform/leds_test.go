package platform

import (
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/adapters"
)

func TestLEDBlocks(t *testing.T) {
	src := edit(t, "host \"h0\" {\n", "host \"h0\" {\n  led \"power\" {\n    line = \"LP\"\n    polarity = \"active-low\"\n  }\n  led \"identify\" {\n    sysfs = \"pca955x:blue:id\"\n  }\n") +
		"bmc \"b\" {\n  led \"fault\" {\n    sysfs = \"bmc-fault\"\n  }\n}\n"
	p := mustParse(t, src)
	want := []LED{{Kind: LEDPower, Line: adapters.LineConfig{Name: "LP", Polarity: adapters.ActiveLow}}, {Kind: LEDIdentify, Sysfs: "pca955x:blue:id"}}
	if got := p.Hosts[0].LEDs; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("host LEDs %+v, want %+v", got, want)
	}
	locs := p.LEDLocations()
	if len(locs) != 2 || locs[0].ID != "bmc.b" || locs[1].ID != "host.h0" || len(locs[1].Covers) != 1 {
		t.Fatalf("LEDLocations = %+v", locs)
	}
	p = mustParse(t, edit(t, "  }\n}\nhost", "  }\n  led \"fault\" {\n    sysfs = \"f\"\n  }\n}\nhost"))
	if locs := p.LEDLocations(); len(locs) != 1 || locs[0].ID != "chassis.c0" || len(locs[0].Covers) != 2 || locs[0].Covers[1] != actors.ID("host.h0") {
		t.Fatalf("a chassis's fault LED covers its hosts: %+v", locs)
	}
}

func TestLEDMistakes(t *testing.T) {
	host := func(led string) string { return "host \"h0\" {\n" + led }
	tests := []struct{ name, block, want string }{
		{"unknown kind", "  led \"status\" {\n    sysfs = \"x\"\n  }\n", `host h0: unknown led kind "status"; kinds are power, fault, identify`},
		{"duplicate", "  led \"fault\" {\n    sysfs = \"x\"\n  }\n  led \"fault\" {\n    sysfs = \"y\"\n  }\n", `host h0: duplicate led "fault"`},
		{"no wiring", "  led \"fault\" {\n  }\n", `host h0 led fault: say how the LED is wired`},
		{"both", "  led \"fault\" {\n    sysfs = \"x\"\n    line = \"L\"\n    polarity = \"active-low\"\n  }\n", `host h0 led fault: give either line and polarity`},
		{"line without polarity", "  led \"power\" {\n    line = \"L\"\n  }\n", `host h0 led power: a GPIO led needs polarity`},
		{"path as name", "  led \"power\" {\n    sysfs = \"/sys/class/leds/x\"\n  }\n", `host h0 led power: sysfs "/sys/class/leds/x" is not a leds-class name`},
		{"dot dot", "  led \"power\" {\n    sysfs = \"..\"\n  }\n", `is not a leds-class name`},
		{"polarity on sysfs", "  led \"power\" {\n    sysfs = \"x\"\n    polarity = \"active-low\"\n  }\n", `polarity is for a GPIO line`},
		{"line clash", "  led \"power\" {\n    line = \"PO\"\n    polarity = \"active-low\"\n  }\n", `line "PO" is already used by host h0 led power`},
	}
	for _, tc := range tests {
		_, err := Parse("test.hcl", []byte(edit(t, "host \"h0\" {\n", host(tc.block))))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test.hcl:") {
			t.Errorf("%s: %v, want an error at a position saying %q", tc.name, err, tc.want)
		}
	}
}
