package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
)

// TestCLITailFromPagesLargeRecords: statemgr tail --from answers after
// records whose replay is several times the 1 MiB max payload, printing
// each once. Before replies were paged it never answered.
func TestCLITailFromPagesLargeRecords(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	var first uint64
	for i := range 80 {
		stored, _, err := env.Log.Append(context.Background(), "bulk.report", events.AnyVersion(),
			[]events.Event{{Type: "report", Schema: 1, Time: time.Now(), Cause: fmt.Sprintf("%03d:%s", i, strings.Repeat("x", 40_000))}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = stored[0].GlobalSeq
		}
	}
	out := mustRun(t, env.URL, "tail", "--from", itoa(first), "-o", "json")
	bulk := 0
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev server.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Seq != first+uint64(i) {
			t.Fatalf("line %d is seq %d (%v), want %d: a gap or a duplicate", i, ev.Seq, err, first+uint64(i))
		}
		if ev.ID == "bulk.report" {
			bulk++
		}
	}
	if bulk != 80 {
		t.Fatalf("tail --from %d printed %d of the 80 large records", first, bulk)
	}
}

// TestValidateManyHosts: statemgr validate FILE of 3,000 hosts, whose
// report is over a megabyte, prints every problem.
func TestValidateManyHosts(t *testing.T) {
	var b strings.Builder
	b.WriteString("chassis \"0\" {\n  psu \"p\" {\n    bus = 1\n    address = \"0x58\"\n    backend = \"sim\"\n  }\n}\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "host \"%d\" {\n}\n", i)
	}
	out, err := run(t, "validate", writeFile(t, b.String()))
	if err == nil {
		t.Fatal("a platform of unwired hosts validated")
	}
	report := out + err.Error()
	if n := strings.Count(report, "has no gpio"); n != 9000 || len(report) < 1<<20 {
		t.Fatalf("validate printed %d of 9000 problems (%d bytes)", n, len(report))
	}
}

// TestValidateReadsAtMostTheSourceLimit: a file past
// platform.MaxSourceBytes is refused by the size-limited reader, which
// stops reading there, naming the file.
func TestValidateReadsAtMostTheSourceLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.hcl")
	if err := os.WriteFile(path, []byte(strings.Repeat("#", platform.MaxSourceBytes+4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "validate", path)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("huge.hcl:1:1: Source too complex: the file is more than %d bytes", platform.MaxSourceBytes)) {
		t.Fatalf("validate of a file past the source limit: %v", err)
	}
}
