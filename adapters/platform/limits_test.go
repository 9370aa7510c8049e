package platform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statemgr/statemgr/actors/machine"
)

// TestParseRefusesOverComplexSources: sources past a limit get a located
// *Error from the pre-parser; before it, 150,000 nested brackets overflowed
// hclsyntax's stack and killed the process.
func TestParseRefusesOverComplexSources(t *testing.T) {
	deep := strings.Repeat("[", 150000) + strings.Repeat("]", 150000)
	calls := strings.Repeat("max(", 150000) + "1" + strings.Repeat(")", 150000)
	templates := strings.Repeat(`"${`, 50000) + "1" + strings.Repeat(`}"`, 50000)
	cases := []struct{ name, src, want string }{
		{"brackets", "x = " + deep + "\n", "nesting is deeper than"},
		{"calls", "x = " + calls + "\n", "nesting is deeper than"},
		{"templates", "x = " + templates + "\n", "nesting is deeper than"},
		{"heredoc templates", "x = <<EOT\n" + templates + "\nEOT\n", "nesting is deeper than"},
		{"size", "x = \"" + strings.Repeat("a", MaxSourceBytes) + "\"\n", "bytes, at most"},
		{"blocks", strings.Repeat("b {}\n", MaxBlocks+1), "blocks and objects"},
		{"attributes", strings.Repeat("a = 1\n", MaxAttributes+1), "attributes and object items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.hcl", []byte(tc.src))
			var perr *Error
			if !errors.As(err, &perr) || len(perr.Diagnostics) != 1 {
				t.Fatalf("Parse = %v, want one located *Error", err)
			}
			d := perr.Diagnostics[0]
			if !strings.Contains(d.Message, tc.want) || d.File != "p.hcl" || d.Line < 1 || d.Column < 1 {
				t.Fatalf("diagnostic = %+v, want a located %q", d, tc.want)
			}
			if !errors.Is(err, ErrTooComplex) || !errors.Is(CheckLimits("p.hcl", []byte(tc.src)), ErrTooComplex) {
				t.Fatalf("Parse = %v, CheckLimits = %v; want both to wrap ErrTooComplex", err, CheckLimits("p.hcl", []byte(tc.src)))
			}
		})
	}
	if err := CheckLimits("default.hcl", DefaultSource()); err != nil {
		t.Fatalf("CheckLimits(default.hcl) = %v", err)
	}
}

// TestReadSourceStopsAtTheLimit: a file past MaxSourceBytes is refused
// with a located error after reading at most one byte more than the limit.
func TestReadSourceStopsAtTheLimit(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.hcl"), filepath.Join(dir, "big.hcl")
	if err := os.WriteFile(small, DefaultSource(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, make([]byte, MaxSourceBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if src, err := ReadSource(small); err != nil || string(src) != string(DefaultSource()) {
		t.Fatalf("ReadSource(small) = %d bytes, %v", len(src), err)
	}
	_, err := ReadSource(big)
	if !errors.Is(err, ErrTooComplex) || !strings.HasPrefix(err.Error(), big+":1:1: ") {
		t.Fatalf("ReadSource(big) = %v, want a located ErrTooComplex", err)
	}
	if _, err := ReadSource("/dev/zero"); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("ReadSource(/dev/zero) = %v, want ErrTooComplex", err)
	}
	if _, err := ReadSource(filepath.Join(dir, "missing.hcl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadSource(missing) = %v, want os.ErrNotExist", err)
	}
}

// TestLimitsIgnoreBracketsInStringsAndComments: brackets inside strings,
// heredocs and comments are not nesting, and real files pass.
func TestLimitsIgnoreBracketsInStringsAndComments(t *testing.T) {
	many := strings.Repeat("[[[[(((({{{{", 10)
	srcs := []string{
		"x = \"" + many + "\"\n",
		"x = \"\\\"" + many + "\"\n",
		"# " + many + "\nx = 1\n",
		"// " + many + "\nx = 1\n",
		"/* " + many + " */\nx = 1\n",
		"x = <<EOT\n" + many + "\nEOT\n",
		"x = <<-EOT\n  " + many + "\n  EOT\n",
		"x = \"$${" + strings.Repeat("$${", 40) + "\"\n",
	}
	for _, src := range srcs {
		if err := checkLimits("p.hcl", []byte(src)); err != nil {
			t.Errorf("checkLimits(%q) = %v, want nil", src, err)
		}
	}
	src, err := os.ReadFile("default.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkLimits("default.hcl", src); err != nil {
		t.Fatalf("default.hcl: %v", err)
	}
}

// FuzzParse: no source makes Parse, or what statemgr.validate does with a
// parsed platform (its components' machines, compiled and validated),
// panic. testdata/fuzz/FuzzParse holds the seeds found worth keeping.
func FuzzParse(f *testing.F) {
	if src, err := os.ReadFile("default.hcl"); err == nil {
		f.Add(src)
	}
	f.Add([]byte("x = [[[1]]]\n"))
	f.Add([]byte("x = \"${\"${1}\"}\"\n"))
	f.Add([]byte("x = <<EOT\n${[1]}\nEOT\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("f.hcl", src)
		if err != nil {
			return
		}
		comps, err := p.Components()
		if err != nil {
			return
		}
		for _, c := range comps {
			machine.Validate(c.Machine)
		}
	})
}
