package platform

import (
	"strings"
	"testing"
	"time"
)

func TestInputBlocks(t *testing.T) {
	src := minimal + `
input "thermal" "cpu" {
  hosts    = ["h0"]
  warning  = 70
  critical = 85
}
input "health" "vr0" {
  stale_after             = "5s"
  unknown_blocks_power_on = false
}
`
	p, err := Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Input{
		{Kind: InputThermal, Name: "cpu", Hosts: []string{"h0"}, Warning: 70, Critical: 85, StaleAfter: DefaultInputStaleAfter, UnknownBlocksPowerOn: true},
		{Kind: InputHealth, Name: "vr0", StaleAfter: 5 * time.Second},
	}
	if len(p.Inputs) != 2 {
		t.Fatalf("inputs: %+v", p.Inputs)
	}
	for i, in := range p.Inputs {
		w := want[i]
		if in.Kind != w.Kind || in.Name != w.Name || strings.Join(in.Hosts, ",") != strings.Join(w.Hosts, ",") || in.Warning != w.Warning ||
			in.Critical != w.Critical || in.StaleAfter != w.StaleAfter || in.UnknownBlocksPowerOn != w.UnknownBlocksPowerOn {
			t.Errorf("input %d: %+v, want %+v", i, in, w)
		}
	}
}

func TestInputBlockMistakes(t *testing.T) {
	for _, c := range []struct{ block, want string }{
		{`input "fan" "f0" {}`, `input kind "fan" is not thermal or health`},
		{`input "thermal" "a.b" {
  warning = 1
  critical = 2
}`, `input name "a.b"`},
		{`input "thermal" "cpu" {}`, `thermal input "cpu" needs warning and critical limits`},
		{`input "thermal" "cpu" {
  warning = 80
  critical = 70
}`, "must be above the warning limit"},
		{`input "health" "vr0" {
  hosts = ["h9"]
}`, `unknown host "h9"`},
		{`input "health" "vr0" {
  critical = 3
}`, "critical does not apply to a health input"},
		{`input "health" "vr0" {
  stale_after = "2h"
}`, "stale_after 2h0m0s is longer than the 1h0m0s allowed"},
		{`input "health" "vr0" {}
input "health" "vr0" {}`, `duplicate health input "vr0"`},
	} {
		_, err := Parse("test.hcl", []byte(minimal+"\n"+c.block+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.block, err, c.want)
		}
	}
}
