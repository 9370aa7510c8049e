package board

import (
	"bytes"
	"os"
	"testing"

	"github.com/statemgr/statemgr/adapters/platform"
)

// TestPortingExampleIsTheHarnessPlatform: the worked example of
// docs/PORTING.md is the platform file the board harness boots, and it
// validates as `statemgr validate` checks it (parse, components).
func TestPortingExampleIsTheHarnessPlatform(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PORTING.md")
	if err != nil {
		t.Fatal(err)
	}
	harness, err := os.ReadFile("testdata/ast2600-evb.hcl")
	if err != nil {
		t.Fatal(err)
	}
	const open, closing = "```hcl\n", "```"
	i := bytes.LastIndex(doc, []byte(open))
	if i < 0 {
		t.Fatal("docs/PORTING.md has no ```hcl block")
	}
	example := doc[i+len(open):]
	if j := bytes.Index(example, []byte(closing)); j >= 0 {
		example = example[:j]
	}
	if !bytes.Equal(example, harness) {
		t.Errorf("the worked example of docs/PORTING.md differs from testdata/ast2600-evb.hcl: copy the file into the doc")
	}
	p, err := platform.Parse("docs/PORTING.md", example)
	if err != nil {
		t.Fatalf("the worked example does not parse: %v", err)
	}
	if _, err := p.Components(); err != nil {
		t.Fatalf("the worked example does not validate: %v", err)
	}
}
