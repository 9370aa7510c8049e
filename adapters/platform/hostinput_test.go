package platform

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// hostWith puts extra into minimal's host "h0" block.
func hostWith(extra string) string {
	return strings.Replace(minimal, `host "h0" {`, `host "h0" {`+"\n"+extra, 1)
}

func TestHostInputBlock(t *testing.T) {
	for _, c := range []struct {
		name, block string
		want        []string // nil: no input block
		heartbeat   time.Duration
	}{
		{"none", "", nil, 0},
		{"watchdog only", `input { events = ["watchdog_expired"] }`, []string{"watchdog_expired"}, 0},
		{"every event", `input {
  events = ["boot_progress", "post_complete", "host_crash", "watchdog_expired"]
}`, []string{"boot_progress", "post_complete", "host_crash", "watchdog_expired"}, 0},
		{"heartbeat", `input {
  events    = ["watchdog_expired"]
  heartbeat = "30s"
}`, []string{"watchdog_expired"}, 30 * time.Second},
	} {
		p, err := Parse("test.hcl", []byte(hostWith(c.block)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		in := p.Hosts[0].Input
		if (in == nil) != (c.want == nil) || (in != nil && (!slices.Equal(in.Events, c.want) || in.Heartbeat != c.heartbeat)) {
			t.Errorf("%s: input %+v, want events %v", c.name, in, c.want)
			continue
		}
		for _, ev := range HostEvents {
			if got := in.Accepts(ev); got != slices.Contains(c.want, ev) {
				t.Errorf("%s: Accepts(%s) = %v", c.name, ev, got)
			}
		}
	}
}

func TestHostInputBlockMistakes(t *testing.T) {
	for _, c := range []struct{ block, want string }{
		{`input {}`, `The argument "events" is required`},
		{`input { events = [] }`, `host "h0" input: events is empty`},
		{`input { events = ["power_good_asserted"] }`, `host "h0" input: "power_good_asserted" is not a host event; events are watchdog_expired, host_crash, post_complete, boot_progress`},
		{`input { events = ["host_crash", "host_crash"] }`, `event "host_crash" is listed twice`},
		{`input { events = "host_crash" }`, `Unsuitable value type`},
		{`input { events = ["host_crash"] }
input { events = ["post_complete"] }`, `duplicate input block`},
		{`input {
  events   = ["host_crash"]
  interval = "30s"
}`, `Unsupported argument`},
		{`input {
  events    = ["host_crash"]
  heartbeat = "30s"
}`, `a heartbeat's silence is a watchdog expiry; add "watchdog_expired" to events`},
		{`input {
  events    = ["watchdog_expired"]
  heartbeat = "100ms"
}`, `heartbeat 100ms is outside 1s..1h0m0s`},
		{`input {
  events    = ["watchdog_expired"]
  heartbeat = "soon"
}`, `heartbeat: "soon" is not a duration`},
		{`input "x" { events = ["host_crash"] }`, `Extraneous label`},
	} {
		_, err := Parse("test.hcl", []byte(hostWith(c.block)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.block, err, c.want)
		}
	}
}
