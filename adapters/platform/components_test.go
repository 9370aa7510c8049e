package platform

import (
	"errors"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors/machine"
)

func TestDefaultComponents(t *testing.T) {
	comps, err := Default().Components()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range comps {
		ids = append(ids, c.ID)
		if problems := machine.Validate(c.Machine); len(problems) > 0 {
			t.Errorf("%s: %v", c.ID, problems)
		}
	}
	if got := strings.Join(ids, " "); got != "bmc.0 chassis.0 host.0 host.1 service.demo" {
		t.Fatalf("default components %q, want bmc.0 chassis.0 host.0 host.1 service.demo", got)
	}
}

func TestComponentsApplyExtensionsAndTimeouts(t *testing.T) {
	src := minimal + `
timeouts {
  power_good_timeout = "3s"
}
service "sync" {
  command = "/bin/true"
}
service "other" {
  command = "/bin/true"
}
machine "service.sync" {
  state "Syncing" {
    kind       = "transitional"
    timeout    = "1m"
    timeout_to = "Error"
  }
  state "Synced" {
    kind = "stable"
  }
  transition {
    from    = "Running"
    trigger = "sync_started"
    to      = "Syncing"
  }
  transition {
    from    = "Syncing"
    trigger = "sync_done"
    to      = "Synced"
  }
  transition {
    from    = "Synced"
    trigger = "Stop"
    to      = "Stopping"
  }
}
`
	p, err := Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	comps, err := p.Components()
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, c := range comps {
		states[c.ID] = len(c.Machine.States)
		if c.ID == "host.h0" {
			for _, s := range c.Machine.States {
				if s.Name == machine.StateTransitioningToRunning && s.Timeout != 3e9+machine.DefaultHostConfig().PowerCycleOffTime {
					t.Errorf("host power-good timeout %v, want the file's 3s plus the cycle off time", s.Timeout)
				}
			}
		}
	}
	if states["service.sync"] != states["service.other"]+2 {
		t.Fatalf("service.sync has %d states, service.other %d: the extension applies to sync only", states["service.sync"], states["service.other"])
	}
	bad := strings.Replace(src, `from    = "Synced"`, `from    = "Nowhere"`, 1)
	if p, err = Parse("test.hcl", []byte(bad)); err == nil {
		_, err = p.Components()
	}
	if err == nil || !strings.Contains(err.Error(), "Nowhere") {
		t.Fatalf("extension from an unknown state: %v", err)
	}
	var inv *machine.InvalidMachineError
	if p != nil && errors.As(err, &inv) && !strings.Contains(inv.Problems[0].Source, "test.hcl:") {
		t.Fatalf("problem without the file's location: %+v", inv.Problems[0])
	}
}

// TestCompiledSharesUnextendedMachines: components of one kind that no
// extension changes share one compiled machine (one per service costs
// ~18 KB), and an extended one gets its own.
func TestCompiledSharesUnextendedMachines(t *testing.T) {
	src := minimal + `
service "a" {
  command = "/bin/true"
}
service "b" {
  command = "/bin/true"
}
service "c" {
  command = "/bin/true"
}
machine "service.c" {
  state "Synced" {
    kind = "stable"
  }
  transition {
    from    = "Running"
    trigger = "sync_done"
    to      = "Synced"
  }
  transition {
    from    = "Synced"
    trigger = "Stop"
    to      = "Stopping"
  }
}
`
	p, err := Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := p.Compiled()
	if err != nil {
		t.Fatal(err)
	}
	if compiled["service.a"] == nil || compiled["service.a"] != compiled["service.b"] {
		t.Errorf("service.a and service.b compiled apart: %p %p, want one shared machine", compiled["service.a"], compiled["service.b"])
	}
	if compiled["service.c"] == compiled["service.a"] {
		t.Error("the extended service.c shares the plain services' machine")
	}
	if compiled["service.c"].StateKind("Synced") == "" || compiled["service.a"].StateKind("Synced") != "" {
		t.Error("the extension's Synced state is not service.c's alone")
	}
}
