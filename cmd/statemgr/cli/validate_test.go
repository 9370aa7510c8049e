package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/adapters/platform"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand(testVersion)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestValidateDefault(t *testing.T) {
	out, err := run(t, "validate")
	if err != nil {
		t.Fatalf("default platform: %v\n%s", err, out)
	}
	for _, id := range []string{"bmc.0", "chassis.0", "host.0", "host.1"} {
		if !strings.Contains(out, "ok   "+id) {
			t.Errorf("report lacks %s:\n%s", id, out)
		}
	}
}

func writeFile(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "board.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const customStates = `
service "sync" {
  command = "/usr/bin/sync-agent"
}
machine "service" {
  state "Syncing" {
    kind       = "transitional"
    timeout    = "5m"
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

func TestValidateCustomStatesAndDOT(t *testing.T) {
	path := writeFile(t, string(platform.DefaultSource())+customStates)
	out, err := run(t, "validate", path)
	if err != nil || !strings.Contains(out, "ok   service.sync") {
		t.Fatalf("file with custom states: %v\n%s", err, out)
	}
	out, err = run(t, "validate", "--dot", path)
	if err != nil {
		t.Fatal(err)
	}
	// bmc, chassis, one host machine shared by both hosts, and one service
	// machine shared by the demo service and sync: a stop timeout is the
	// supervisor's, not a state's, so the two services' tables are equal.
	if !strings.HasPrefix(out, "digraph statemgr {") || !strings.Contains(out, "Syncing") || strings.Count(out, "subgraph") != 4 {
		t.Fatalf("DOT output (want 4 clusters):\n%s", out)
	}
}

func TestValidateReportsProblemsWithLocation(t *testing.T) {
	// Synced has no way out: the validator must say so, at the file's line.
	broken := strings.Replace(customStates, "  transition {\n    from    = \"Synced\"\n    trigger = \"Stop\"\n    to      = \"Stopping\"\n  }\n", "", 1)
	path := writeFile(t, string(platform.DefaultSource())+broken)
	out, err := run(t, "validate", path)
	if !errors.Is(err, errInvalid) {
		t.Fatalf("broken file: %v, want errInvalid\n%s", err, out)
	}
	if !strings.Contains(err.Error()+out, "board.hcl:") || !strings.Contains(err.Error()+out, "Synced") {
		t.Fatalf("report does not locate the problem:\n%v\n%s", err, out)
	}
	path = writeFile(t, "host \"0\" {\n  chassis = \"nope\"\n}\n")
	if _, err := run(t, "validate", path); !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), "board.hcl:") {
		t.Fatalf("bad platform file: %v", err)
	}
	if _, err := run(t, "validate", filepath.Join(t.TempDir(), "missing.hcl")); err == nil || !strings.Contains(err.Error(), "cannot read platform file") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestVersionFlag(t *testing.T) {
	var out syncBuffer
	root := newRootCommand(testVersion)
	root.SetArgs([]string{"--version"})
	root.SetOut(&out)
	if err := root.Execute(); err != nil || out.String() != "statemgr version "+testVersion+"\n" {
		t.Fatalf("statemgr --version: %v, %q", err, out.String())
	}
}

// A host state added by the platform file must say what power good reads
// in it; validate points at the state's line and says what to write.
func TestValidateRequiresPowerOnAddedHostStates(t *testing.T) {
	const warm = "\nmachine \"host\" {\n  state \"Warming\" {\n    kind = \"stable\"\n  }\n  transition {\n    from    = \"Off\"\n    trigger = \"warm_up\"\n    to      = \"Warming\"\n  }\n  transition {\n    from    = \"Warming\"\n    trigger = \"power_good_deasserted\"\n    to      = \"Off\"\n  }\n}\n"
	src := string(platform.DefaultSource()) + warm
	line := strings.Count(src[:strings.Index(src, `state "Warming"`)], "\n") + 1
	_, err := run(t, "validate", writeFile(t, src))
	want := "board.hcl:" + strconv.Itoa(line) + ":"
	if !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `write power = "on" | "off" | "any"`) {
		t.Fatalf("missing power: %v, want an error at %s saying what to write", err, want)
	}
	src = strings.Replace(src, "kind = \"stable\"\n  }", "kind = \"stable\"\n    power = \"off\"\n  }", 1)
	if out, err := run(t, "validate", writeFile(t, src)); err != nil || !strings.Contains(out, "ok   host.0") {
		t.Fatalf("with power: %v\n%s", err, out)
	}
}
