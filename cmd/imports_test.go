// Package cmd_test checks the module's import rules, the layout README.md
// describes: imports point one way, from cmd/ and sim/ down to server/,
// adapters/, actors/, events/ and snapshots/. It reads the real import
// graph with go list, so a rule holds for the tree as it is, tests included.
package cmd_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/statemgr/statemgr/"

// listedPackage is what go list -json says about one package.
type listedPackage struct {
	ImportPath   string
	Deps         []string // every package the production code links, transitively
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// rel is a package's path inside the module ("actors/clock").
func rel(path string) string { return strings.TrimPrefix(path, module) }

// under reports whether the module package rel lies in one of dirs.
func under(rel string, dirs ...string) bool {
	for _, d := range dirs {
		if rel == d || strings.HasPrefix(rel, d+"/") {
			return true
		}
	}
	return false
}

func listModule(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("cannot decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages of the module; the check would prove nothing", len(pkgs))
	}
	return pkgs
}

// TestProductionNeverImportsTheSimulator: no package outside sim/ and cmd/,
// nor its tests, imports anything under sim/, directly or through another
// package. The clock the simulator drives lives in actors/clock.
func TestProductionNeverImportsTheSimulator(t *testing.T) {
	for _, p := range listModule(t) {
		from := rel(p.ImportPath)
		if under(from, "sim", "cmd") {
			continue
		}
		imports := slices.Concat(p.Deps, p.TestImports, p.XTestImports)
		slices.Sort(imports)
		for _, imp := range slices.Compact(imports) {
			if strings.HasPrefix(imp, module) && under(rel(imp), "sim") {
				t.Errorf("%s imports %s: only sim/ and cmd/ may use the simulator", from, rel(imp))
			}
		}
	}
}

// boardDeps lists what pkg links when built with build tags tags.
func boardDeps(t *testing.T, tags, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-tags", tags, module+pkg).Output()
	if err != nil {
		t.Fatalf("go list -tags %q %s: %v", tags, pkg, err)
	}
	return strings.Fields(string(out))
}

// devOnly are the development tools' packages and what only they link.
var devOnly = []string{module + "sim", module + "events/logbench", "pgregory.net/rapid"}

// TestBoardCLILinksNoDevelopmentTools: the board build of the CLI
// (-tags bmc, issue 16 item 2) links neither the simulator, the log
// benchmark nor the event log; the default build keeps sim and bench.
func TestBoardCLILinksNoDevelopmentTools(t *testing.T) {
	board := boardDeps(t, "bmc", "cmd/statemgr")
	for _, p := range append(devOnly, module+"events/badger", "github.com/dgraph-io/badger/v4") {
		if slices.Contains(board, p) {
			t.Errorf("statemgr built with -tags bmc links %s, a development tool's dependency", p)
		}
	}
	if dev := boardDeps(t, "", "cmd/statemgr"); !slices.Contains(dev, module+"sim") {
		t.Errorf("the default statemgr build lost the sim command (it no longer links %ssim)", module)
	}
}

// TestBoardBinaryIsMultiCallWithoutDevelopmentTools: statemgrd, the one
// binary a board ships (issue 16 item 1), carries the CLI, and its board
// build (-tags bmc) leaves out the simulator, the log benchmark and rapid;
// its default build keeps them (go run ./cmd/statemgrd statemgr sim).
func TestBoardBinaryIsMultiCallWithoutDevelopmentTools(t *testing.T) {
	board := boardDeps(t, "bmc", "cmd/statemgrd")
	if !slices.Contains(board, module+"cmd/statemgr/cli") || !slices.Contains(board, module+"adapters/process/demo") {
		t.Errorf("statemgrd built with -tags bmc does not link the CLI (cmd/statemgr/cli) and the demo service: it is not the multi-call binary")
	}
	for _, p := range devOnly {
		if slices.Contains(board, p) {
			t.Errorf("statemgrd built with -tags bmc links %s, a development tool's dependency", p)
		}
	}
	if dev := boardDeps(t, "", "cmd/statemgrd"); !slices.Contains(dev, module+"sim") {
		t.Errorf("the default statemgrd build has no statemgr sim (it does not link %ssim)", module)
	}
}

// TestLayersImportDownward: the hardware layer knows no component policy,
// and the domain knows no hardware or API. Production code (what a
// package links, transitively) only; tests may build rigs from any layer.
//   - adapters/... links, of actors/, only the domain and its seams:
//     actors (ids, records), actors/machine (effects in, observations
//     out), actors/clock and actors/actorsys (the actor runtime). Never
//     the component shell (actors/protoactor), the coordinator or sagas,
//     nor server/.
//   - actors/... links nothing of server/, and of adapters/ only
//     adapters/platform (the platform file's types, which
//     coordinator.TopologyOf reads) and the adapters contracts it uses.
//   - server/assembly, the composition root, wires adapters/devices to
//     actors/coordinator: any other package linking both gets them
//     through it (links server/assembly).
func TestLayersImportDownward(t *testing.T) {
	allowedActors := []string{"actors", "actors/machine", "actors/clock", "actors/actorsys"}
	for _, p := range listModule(t) {
		from := rel(p.ImportPath)
		var links []string
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, module) {
				links = append(links, rel(dep))
			}
		}
		switch {
		case under(from, "adapters"):
			for _, to := range links {
				if under(to, "server", "cmd") || (under(to, "actors") && !slices.Contains(allowedActors, to)) {
					t.Errorf("%s links %s: adapters/ may use of actors/ only %s", from, to, strings.Join(allowedActors, ", "))
				}
			}
		case under(from, "actors"):
			for _, to := range links {
				if under(to, "server", "cmd") || (under(to, "adapters") && to != "adapters" && to != "adapters/platform") {
					t.Errorf("%s links %s: actors/ may use of adapters/ only adapters/platform, and nothing of server/", from, to)
				}
			}
		}
		if from != "server/assembly" && slices.Contains(links, "adapters/devices") && slices.Contains(links, "actors/coordinator") && !slices.Contains(links, "server/assembly") {
			t.Errorf("%s links both adapters/devices and actors/coordinator without server/assembly: only the assembly wires the devices to the coordinator", from)
		}
	}
}
