package campaign

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/statemgr/statemgr/server"
)

// Type is a field's type in an endpoint's request schema.
type Type struct {
	Kind   string           // a server.Schema* name, "array" or "object"
	Elem   *Type            // of an array
	Fields map[string]*Type // of an object
}

// Field names of an object type, sorted.
func (t *Type) names() []string {
	var out []string
	for n := range t.Fields {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ParseSchema reads an endpoint's server.MetadataRequest.
func ParseSchema(raw string) (*Type, error) {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fmt.Errorf("request schema is not JSON: %w", err)
	}
	return typeOf(v)
}

func typeOf(v any) (*Type, error) {
	switch v := v.(type) {
	case string:
		switch v {
		case server.SchemaString, server.SchemaBoolean, server.SchemaInteger, server.SchemaUnsigned, server.SchemaNumber:
			return &Type{Kind: v}, nil
		}
		return nil, fmt.Errorf("unknown schema type %q", v)
	case []any:
		if len(v) != 1 {
			return nil, fmt.Errorf("an array schema has one element type, got %d", len(v))
		}
		elem, err := typeOf(v[0])
		return &Type{Kind: "array", Elem: elem}, err
	case map[string]any:
		t := &Type{Kind: "object", Fields: map[string]*Type{}}
		for name, fv := range v {
			ft, err := typeOf(fv)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			t.Fields[name] = ft
		}
		return t, nil
	}
	return nil, fmt.Errorf("schema value %v is not a type", v)
}

// Endpoint is one endpoint as $SRV.INFO describes it.
type Endpoint struct {
	Subject  string
	Kind     string // read or control
	Request  *Type  // an object
	MaxBytes int
}

// Class is a family of hostile bodies.
type Class string

// The classes. The hostile helper's request-decoding limits own the last
// four: see the pending list of the campaign's test.
const (
	ClassValid         Class = "valid"
	ClassNotObject     Class = "not_object"
	ClassMalformed     Class = "malformed"
	ClassUnknownField  Class = "unknown_field"
	ClassWrongType     Class = "wrong_type"
	ClassNull          Class = "null"
	ClassHugeNumber    Class = "huge_number"
	ClassNegative      Class = "negative_number"
	ClassInvalidUTF8   Class = "invalid_utf8"
	ClassNUL           Class = "nul_byte"
	ClassOddValue      Class = "odd_value" // odd ids, operations, waits, types, platform sources
	ClassHugeArray     Class = "huge_array"
	ClassSizeAtLimit   Class = "size_at_limit"
	ClassSizePastLimit Class = "size_past_limit"
	ClassOddSubject    Class = "odd_subject"
	ClassMixed         Class = "mixed" // random combinations of the above, from the seed
	ClassDuplicateKey  Class = "duplicate_key"
	ClassWrongCase     Class = "wrong_case_field"
	ClassAtHorizon     Class = "at_horizon"
	ClassNestingDepth  Class = "nesting_depth"
)

// Case is one request to send.
type Case struct {
	Class   Class
	Subject string
	Body    []byte
	What    string // what the body tries, for the report
	// Refuse says the reply must be a catalogued error: the body is not a
	// request any endpoint takes.
	Refuse bool
	// DeclaredOnly says every key of the body is a field the schema
	// declares: unknown_field would mean the schema lies.
	DeclaredOnly bool
}

// pair is one key and raw JSON value of a body, kept in order and allowed
// to repeat.
type pair struct{ key, raw string }

func render(pairs []pair) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(p.key))
		b.WriteByte(':')
		b.WriteString(p.raw)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// str is s as a JSON string (Go's quoting is JSON's for the ASCII it is
// given; raw bytes are written as they are).
func str(s string) string { return `"` + s + `"` }

// plausibleID names a component of the kind the subject serves.
func plausibleID(subject string) string {
	for _, k := range []string{"chassis", "bmc", "service", "host"} {
		if strings.Contains(subject, "."+k+".") {
			if k == "service" {
				return "service.demo"
			}
			return k + ".0"
		}
	}
	return "host.0"
}

// concreteSubject fills a wildcard subject's token with the default
// platform's service.
func concreteSubject(subject string) string { return strings.ReplaceAll(subject, "*", "demo") }

// base is the plausible body every case varies: the id of the subject's
// kind, and a platform source for validate.
func base(ep Endpoint) []pair {
	var out []pair
	if _, ok := ep.Request.Fields["id"]; ok {
		out = append(out, pair{"id", str(plausibleID(ep.Subject))})
	}
	if _, ok := ep.Request.Fields["source"]; ok {
		out = append(out, pair{"source", str(`bmc \"0\" {}\n`)})
	}
	return out
}

// without returns pairs without key.
func without(pairs []pair, key string) []pair {
	var out []pair
	for _, p := range pairs {
		if p.key != key {
			out = append(out, p)
		}
	}
	return out
}

// with returns the base with key set to raw.
func with(b []pair, key, raw string) []pair {
	return append(without(b, key), pair{key, raw})
}

// nested returns depth levels of open around inner.
func nested(open, inner, close string, depth int) string {
	return strings.Repeat(open, depth) + inner + strings.Repeat(close, depth)
}

// wrongTypes are JSON values of types other than t's.
func wrongTypes(t *Type) []string {
	switch t.Kind {
	case server.SchemaString:
		return []string{`1`, `true`, `[]`, `{}`, `1.5`, `["host.0"]`}
	case server.SchemaBoolean:
		return []string{`"true"`, `1`, `0`, `[]`, `{}`}
	case server.SchemaInteger, server.SchemaUnsigned:
		return []string{`"1"`, `true`, `1.5`, `[]`, `{}`, `1e2`}
	case server.SchemaNumber:
		return []string{`"1"`, `true`, `[]`, `{}`}
	case "array":
		out := []string{`"x"`, `{}`, `1`, `true`}
		if t.Elem.Kind == server.SchemaString {
			out = append(out, `[1]`, `[null, {}]`, `[["thermal"]]`)
		}
		return out
	case "object":
		return []string{`[]`, `"x"`, `1`, `true`}
	}
	return nil
}

// hostileSources are platform files that cost a naive HCL parser its stack
// or memory (statemgr.validate's "source").
func hostileSources() []string {
	return []string{
		"x = " + nested("[", "", "]", 150000),
		"x = " + nested("max(", "1", ")", 60000),
		"x = " + nested(`\"${`, "1", `}\"`, 40000),
		strings.Repeat(`b {}\n`, 10001),
		strings.Repeat(`a = 1\n`, 50001),
		nested("b {\\n", "", "}\\n", 5000),
		"bmc \\\"0\\\" { reset = \\\"restart-daemon\\\" }\\n" + strings.Repeat("#", 1000),
		"\xff\xfe\x00\x00",
		`x = \"\u0000\"`,
	}
}

// oddStrings are values for a string field: generic, then by field name.
func oddStrings(name string, now time.Time) []string {
	out := []string{``, ` `, `..`, `\u202e0.tsoh`, `${x}`, `$(reboot)`, `%00`, strings.Repeat("a", 4096), `\\`, `\"`}
	switch name {
	case "id", "component":
		out = append(out, `host.0 `, `HOST.0`, `host.-1`, `host.99999999999999999999`, `host.0/..`, `service.`, `.0`,
			`bmc.0.0`, `host`, `host.1`, `chassis.0`, `bmc.0`, `service.demo`, `service.`+strings.Repeat("a", 300), `service.*`, `service.>`)
	case "operation":
		out = append(out, strings.Repeat("o", 128), strings.Repeat("o", 129), `op-000001`, `op with space`, `op-999999999999`)
	case "wait":
		out = append(out, `5m`, `5m0.000000001s`, `-1s`, `0s`, `1ns`, `99999999h`, `1e9s`, `NaN`, `1s`)
	case "type":
		out = append(out, `On`, `ForceOff`, `on`, `PushPowerButton`, `GracefulRestart`, `ForceRestart`, `Nmi`, `PowerCycle`)
	case "kind":
		out = append(out, `host`, `HOST`, `service`, `x`)
	case "at":
		out = append(out, now.Add(time.Hour).UTC().Format(time.RFC3339), `yesterday`, `2026-13-40T99:99:99Z`, `1700000000`)
	case "state":
		out = append(out, `ENABLED`, `DISABLED`, `ERROR`, `enabled`)
	case "event":
		out = append(out, `initialized`, `runtime_error`, `sync_started`, `booted`)
	case "source":
		out = append(out, hostileSources()...)
	}
	return out
}

// pastHorizon are schedules the API must refuse: in the past, or beyond
// any horizon.
var pastHorizon = []string{`0000-01-01T00:00:00Z`, `2000-01-01T00:00:00Z`, `9999-12-31T23:59:59Z`}

// Generate returns the cases for ep: every class, for every field, and
// mixed bodies drawn from seed. It is pure: the same endpoint, seed and
// now give the same cases.
func Generate(ep Endpoint, seed uint64, now time.Time) []Case {
	subject := concreteSubject(ep.Subject)
	b := base(ep)
	var cases []Case
	add := func(c Class, body []byte, what string, refuse, declared bool) {
		cases = append(cases, Case{Class: c, Subject: subject, Body: body, What: what, Refuse: refuse, DeclaredOnly: declared})
	}
	add(ClassValid, render(b), "the plausible body", false, true)
	add(ClassValid, nil, "an empty body", false, true)
	for _, body := range []string{`[]`, `"x"`, `1`, `true`, `[{"id":"host.0"}]`, `-0`} {
		add(ClassNotObject, []byte(body), body, true, true)
	}
	for _, body := range []string{`{`, `{"id":}`, `{"id" "x"}`, `{}{}`, `{} x`, `{"id":"host.0",}`, "\xef\xbb\xbf{}", `{'id':'x'}`, "{\"id\":\"a\x00b\"}", `}`} {
		add(ClassMalformed, []byte(body), fmt.Sprintf("%q", body), true, true)
	}
	for _, p := range []pair{{"zz", `1`}, {"__proto__", `{}`}, {"", `1`}, {"id\u0000", `"host.0"`}, {"zz", nested("[", "", "]", 5000)}} {
		add(ClassUnknownField, render(append(without(b, p.key), p)), "unknown field "+strconv.Quote(p.key), true, false)
	}
	for _, name := range ep.Request.names() {
		t := ep.Request.Fields[name]
		for _, raw := range wrongTypes(t) {
			add(ClassWrongType, render(with(b, name, raw)), name+" = "+raw, true, true)
		}
		add(ClassNull, render(with(b, name, `null`)), name+" = null", false, true)
		add(ClassNestingDepth, render(with(b, name, nested("[", "", "]", 33))), name+" nested 33 deep", true, true)
		add(ClassNestingDepth, render(with(b, name, nested(`{"a":`, "1", "}", 20000))), name+" nested 20000 deep", true, true)
		add(ClassDuplicateKey, render(append(with(b, name, sample(t, 0)), pair{name, sample(t, 1)})), name+" twice", true, true)
		for _, wrong := range []string{strings.ToUpper(name), strings.ToUpper(name[:1]) + name[1:]} {
			if wrong != name {
				add(ClassWrongCase, render(append(without(b, name), pair{wrong, sample(t, 0)})), "field "+wrong, true, false)
			}
		}
		switch t.Kind {
		case server.SchemaInteger, server.SchemaUnsigned:
			for _, raw := range []string{`1e400`, `18446744073709551616`, `9223372036854775808`, `9223372036854775807`, `1000`, `1001`, `4294967296`, `1e308`} {
				add(ClassHugeNumber, render(with(b, name, raw)), name+" = "+raw, false, true)
			}
			for _, raw := range []string{`-1`, `-9223372036854775808`, `-9223372036854775809`, `-1e-400`, `-0`} {
				add(ClassNegative, render(with(b, name, raw)), name+" = "+raw, false, true)
			}
		case server.SchemaString:
			for _, raw := range []string{"\xff\xfe", "host.\xc0\x80", `\ud800`, "\xed\xa0\x80", `host.\udfff0`} {
				add(ClassInvalidUTF8, render(with(b, name, str(raw))), fmt.Sprintf("%s = %q", name, raw), false, true)
			}
			for _, raw := range []string{`\u0000`, `host.0\u0000`, `\u0000host.0`} {
				add(ClassNUL, render(with(b, name, str(raw))), name+" = "+raw, false, true)
			}
			for _, s := range oddStrings(name, now) {
				add(ClassOddValue, render(with(b, name, str(s))), fmt.Sprintf("%s = %.60q", name, s), false, true)
			}
			if name == "at" {
				for _, s := range pastHorizon {
					add(ClassAtHorizon, render(with(b, name, str(s))), "at = "+s, true, true)
				}
			}
		case "array":
			many := strings.TrimSuffix(strings.Repeat(`"thermal",`, (ep.MaxBytes-200)/10), ",")
			add(ClassHugeArray, render(with(b, name, "["+many+"]")), name+" with thousands of elements", false, true)
		case "object":
			for _, sub := range t.names() {
				for _, raw := range wrongTypes(t.Fields[sub]) {
					add(ClassWrongType, render(with(b, name, string(render([]pair{{sub, raw}})))), name+"."+sub+" = "+raw, true, true)
				}
				add(ClassNestingDepth, render(with(b, name, string(render([]pair{{sub, nested("[", "", "]", 33)}})))), name+"."+sub+" nested 33 deep", true, true)
			}
		}
	}
	cases = append(cases, sizeCases(ep, subject, b)...)
	if strings.Contains(ep.Subject, "*") {
		for _, token := range []string{"nonexistent", "DEMO", strings.Repeat("s", 200), "demo-"} {
			cases = append(cases, Case{Class: ClassOddSubject, Subject: strings.ReplaceAll(ep.Subject, "*", token), Body: render(b), What: "subject token " + token})
		}
	}
	cases = append(cases, mixed(cases, subject, rand.New(rand.NewPCG(seed, hash(ep.Subject))))...)
	return cases
}

// sizeCases pad the plausible body with whitespace to the endpoint's limit
// and one byte past it.
func sizeCases(ep Endpoint, subject string, b []pair) []Case {
	body := render(b)
	pad := func(n int) []byte {
		out := append([]byte{'{'}, []byte(strings.Repeat(" ", n-len(body)))...)
		return append(out, body[1:]...)
	}
	return []Case{
		{Class: ClassSizeAtLimit, Subject: subject, Body: pad(ep.MaxBytes), What: fmt.Sprintf("%d bytes", ep.MaxBytes), DeclaredOnly: true},
		{Class: ClassSizePastLimit, Subject: subject, Body: pad(ep.MaxBytes + 1), What: fmt.Sprintf("%d bytes", ep.MaxBytes+1), Refuse: true, DeclaredOnly: true},
	}
}

// sample is a well-typed value of t.
func sample(t *Type, i int) string {
	switch t.Kind {
	case server.SchemaString:
		return str([]string{"host.0", "host.99"}[i%2])
	case server.SchemaBoolean:
		return []string{"true", "false"}[i%2]
	case server.SchemaInteger, server.SchemaUnsigned, server.SchemaNumber:
		return strconv.Itoa(i + 1)
	case "array":
		return "[" + sample(t.Elem, i) + "]"
	}
	return "{}"
}

// mixed draws bodies that splice the fields of two earlier cases, so that
// hostile values meet each other.
func mixed(cases []Case, subject string, rng *rand.Rand) []Case {
	var out []Case
	var objects []Case
	for _, c := range cases {
		if len(c.Body) > 2 && c.Body[0] == '{' && c.Body[len(c.Body)-1] == '}' && len(c.Body) < 8<<10 {
			objects = append(objects, c)
		}
	}
	for i := 0; i < 20 && len(objects) > 1; i++ {
		a, b := objects[rng.IntN(len(objects))], objects[rng.IntN(len(objects))]
		body := append(append(append([]byte{}, a.Body[:len(a.Body)-1]...), ','), b.Body[1:]...)
		out = append(out, Case{Class: ClassMixed, Subject: subject, Body: body, What: a.What + " with " + b.What})
	}
	return out
}

// hash is FNV-1a, to give each endpoint its own stream of the seed.
func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(s) {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
