//go:build !bmc

package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/sim"
)

// TestSimReplaysASeedExactly: statemgr sim --seed prints the same trace
// twice, and a campaign prints its summary.
func TestSimReplaysASeedExactly(t *testing.T) {
	first, err := run(t, "sim", "--seed", "5", "--steps", "30")
	if err != nil {
		t.Fatalf("%v\n%s", err, first)
	}
	second, err := run(t, "sim", "--seed", "5", "--steps", "30")
	if err != nil || first != second {
		t.Fatalf("seed 5 twice: %v\n--- first\n%s\n--- second\n%s", err, first, second)
	}
	if !strings.Contains(first, "#029 ") || !strings.Contains(first, "ok: 30 actions") {
		t.Fatalf("trace lacks its steps or its verdict:\n%s", first)
	}
	out, err := run(t, "sim", "--runs", "2", "--steps", "20")
	if err != nil || !strings.Contains(out, "actions          40") || !strings.Contains(out, "invariants checked") {
		t.Fatalf("campaign: %v\n%s", err, out)
	}
}

// TestSimInputs: statemgr sim --inputs replays a seed of the platform with
// external inputs exactly, its trace showing input actions, and the same
// seed without --inputs draws none.
func TestSimInputs(t *testing.T) {
	first, err := run(t, "sim", "--inputs", "--seed", "3", "--steps", "40")
	if err != nil {
		t.Fatalf("%v\n%s", err, first)
	}
	second, err := run(t, "sim", "--inputs", "--seed", "3", "--steps", "40")
	if err != nil || first != second {
		t.Fatalf("seed 3 twice: %v\n--- first\n%s\n--- second\n%s", err, first, second)
	}
	if !strings.Contains(first, " input_") || !strings.Contains(first, "ok: 40 actions") {
		t.Fatalf("trace lacks input actions or its verdict:\n%s", first)
	}
	plain, err := run(t, "sim", "--seed", "3", "--steps", "40")
	if err != nil || strings.Contains(plain, " input_") {
		t.Fatalf("without --inputs: %v\n%s", err, plain)
	}
}

// TestSimReplaysAFileAndMinimizesOnlyFailures: --replay runs a JSON list
// of actions; --minimize writes nothing when every invariant held, and a
// file that is not a list of actions is a usage error.
func TestSimReplaysAFileAndMinimizesOnlyFailures(t *testing.T) {
	dir := t.TempDir()
	actions := []sim.Action{{Kind: sim.ComponentRequest, Component: "service.demo", Trigger: "Stop"}, {Kind: sim.Advance, Duration: 5e9}}
	data, err := json.Marshal(actions)
	if err != nil {
		t.Fatal(err)
	}
	file, repro := filepath.Join(dir, "actions.json"), filepath.Join(dir, "minimal.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "sim", "--replay", file, "--minimize", repro)
	if err != nil || !strings.Contains(out, "component_request service.demo Stop -> now Stopping") {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := os.Stat(repro); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("--minimize wrote %s for a run that broke nothing (%v)", repro, err)
	}
	if err := os.WriteFile(file, []byte(`{"kind":"advance"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "sim", "--replay", file); !errors.Is(err, errUsage) {
		t.Fatalf("a file that is not a list: %v\n%s", err, out)
	}
}
