package platform

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// decoder accumulates diagnostics while reading HCL bodies. Every getter
// returns a usable value (the default) after reporting a problem, so
// decoding goes on and finds the next one.
type decoder struct {
	diags hcl.Diagnostics
}

func (d *decoder) errorf(rng hcl.Range, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

func (d *decoder) content(body hcl.Body, schema *hcl.BodySchema) *hcl.BodyContent {
	c, diags := body.Content(schema)
	d.diags = append(d.diags, diags...)
	return c
}

// decode converts attr's value into target, reporting type errors.
func (d *decoder) decode(attr *hcl.Attribute, target any) bool {
	// Evaluate first: a variable or function call is reported once here
	// rather than again as an unknown value by the conversion.
	if _, diags := attr.Expr.Value(nil); diags.HasErrors() {
		d.diags = append(d.diags, diags...)
		return false
	}
	diags := gohcl.DecodeExpression(attr.Expr, nil, target)
	d.diags = append(d.diags, diags...)
	return !diags.HasErrors()
}

// value decodes attribute name into a T, or returns def when the attribute
// is absent or does not decode (the decoder has recorded why).
func value[T any](d *decoder, attrs hcl.Attributes, name string, def T) T {
	attr, ok := attrs[name]
	if !ok {
		return def
	}
	var v T
	if !d.decode(attr, &v) {
		return def
	}
	return v
}

func (d *decoder) str(attrs hcl.Attributes, name, def string) string {
	return value(d, attrs, name, def)
}

func (d *decoder) nonEmpty(attrs hcl.Attributes, name, def string) string {
	s := d.str(attrs, name, def)
	if attr, ok := attrs[name]; ok && strings.TrimSpace(s) == "" {
		d.errorf(attr.Expr.Range(), "%s must not be empty", name)
	}
	return s
}

func (d *decoder) strList(attrs hcl.Attributes, name string) []string {
	return value[[]string](d, attrs, name, nil)
}

func (d *decoder) strMap(attrs hcl.Attributes, name string) map[string]string {
	return value[map[string]string](d, attrs, name, nil)
}

func (d *decoder) integer(attrs hcl.Attributes, name string, def, lo, hi int) int {
	v := value(d, attrs, name, def)
	if attr, ok := attrs[name]; ok && (v < lo || v > hi) {
		d.errorf(attr.Expr.Range(), "%s %d is out of range %d..%d", name, v, lo, hi)
		return def
	}
	return v
}

func (d *decoder) number(attrs hcl.Attributes, name string, def float64) float64 {
	return value(d, attrs, name, def)
}

// duration reads a duration string. It must be positive, or non-negative
// when zeroOK.
func (d *decoder) duration(attrs hcl.Attributes, name string, def time.Duration, zeroOK bool) time.Duration {
	attr, ok := attrs[name]
	if !ok {
		return def
	}
	var s string
	if !d.decode(attr, &s) {
		return def
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.errorf(attr.Expr.Range(), "%s: %q is not a duration; write a number with a unit, e.g. \"200ms\" or \"4s\"", name, s)
		return def
	case v < 0 || (v == 0 && !zeroOK):
		d.errorf(attr.Expr.Range(), "%s: %s must be positive", name, s)
		return def
	}
	return v
}

// oneOf reads a string that must be one of allowed.
func (d *decoder) oneOf(attrs hcl.Attributes, name, def string, allowed ...string) string {
	attr, ok := attrs[name]
	if !ok {
		return def
	}
	s := d.str(attrs, name, def)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	d.errorf(attr.Expr.Range(), "%s %q is not one of %s", name, s, strings.Join(allowed, ", "))
	return def
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// name checks a block's label and returns it.
func (d *decoder) name(b *hcl.Block, what string) string {
	n := b.Labels[0]
	if !namePattern.MatchString(n) {
		d.errorf(b.LabelRanges[0], "%s name %q: use letters, digits, '_' and '-'", what, n)
	}
	return n
}

// names tracks unique names of one kind and where each was defined.
type names struct {
	what string
	at   map[string]hcl.Range
}

func newNames(what string) *names { return &names{what: what, at: map[string]hcl.Range{}} }

// add records name, reporting a duplicate at rng; it reports whether name
// was new.
func (n *names) add(d *decoder, name string, rng hcl.Range) bool {
	if first, dup := n.at[name]; dup {
		d.errorf(rng, "duplicate %s %q (first defined at %s)", n.what, name, pos(first))
		return false
	}
	n.at[name] = rng
	return true
}

func (n *names) has(name string) bool {
	_, ok := n.at[name]
	return ok
}

// refs checks that every name in the list attribute attr is known.
func (d *decoder) refs(attr *hcl.Attribute, list []string, known *names) {
	for _, r := range list {
		if !known.has(r) {
			d.errorf(attr.Expr.Range(), "unknown %s %q", known.what, r)
		}
	}
}

// single reports every block of a type after the first.
func (d *decoder) single(blocks hcl.Blocks) *hcl.Block {
	if len(blocks) == 0 {
		return nil
	}
	for _, b := range blocks[1:] {
		d.errorf(b.DefRange, "duplicate %s block (first at %s)", b.Type, pos(blocks[0].DefRange))
	}
	return blocks[0]
}

// pos formats a range's start as file:line:col.
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// source formats a range's start as machine.State.Source wants it,
// "file:line,col".
func source(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}

// address reads a 7-bit I2C address given as "0x58" or 88.
func (d *decoder) address(attrs hcl.Attributes, name string) uint16 {
	attr, ok := attrs[name]
	if !ok {
		return 0
	}
	var s string
	if !d.decode(attr, &s) {
		return 0
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 16)
	if err != nil {
		d.errorf(attr.Expr.Range(), "%s %q is not a number; write it as \"0x58\" or 88", name, s)
		return 0
	}
	if v < 0x03 || v > 0x77 {
		d.errorf(attr.Expr.Range(), "%s 0x%02X is outside the 7-bit device range 0x03..0x77", name, v)
		return 0
	}
	return uint16(v)
}

// Diagnostic is one problem in a platform file.
type Diagnostic struct {
	File    string
	Line    int
	Column  int
	Message string
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Column, d.Message)
}

// Error lists every problem found in a platform file, in file order.
type Error struct {
	Diagnostics []Diagnostic
	cause       error // ErrTooComplex for a source past a limit
}

// Unwrap returns ErrTooComplex when the source passed a limit of
// CheckLimits, so that callers can tell "too costly to read" from "wrong".
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// newError converts HCL's error diagnostics, sorted by position.
func newError(filename string, diags hcl.Diagnostics) *Error {
	var out []Diagnostic
	for _, dg := range diags {
		if dg.Severity != hcl.DiagError {
			continue
		}
		msg := dg.Summary
		if dg.Detail != "" {
			msg += ": " + dg.Detail
		}
		d := Diagnostic{File: filename, Message: msg}
		if dg.Subject != nil {
			d.File, d.Line, d.Column = dg.Subject.Filename, dg.Subject.Start.Line, dg.Subject.Start.Column
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return &Error{Diagnostics: out}
}
