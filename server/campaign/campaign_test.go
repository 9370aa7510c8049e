package campaign

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/server"
)

// reply is a reply as the server sends it: an error has the HTTP-like
// status in micro's header and the catalogue code in its own.
func reply(status, code, body string) *nats.Msg {
	m := nats.NewMsg("r")
	if status != "" {
		m.Header.Set(micro.ErrorCodeHeader, status)
		m.Header.Set(server.HeaderErrorCode, code)
	}
	m.Data = []byte(body)
	return m
}

// TestJudge: each way a reply can break the API's promise is reported,
// and catalogued errors and JSON successes pass.
func TestJudge(t *testing.T) {
	good := `{"error":{"code":10002,"status":400,"name":"unknown_field","message":"unknown field \"zz\"","hint":"remove it"}}`
	for _, tc := range []struct {
		name    string
		c       Case
		msg     *nats.Msg
		problem bool
	}{
		{"success", Case{}, reply("", "", `{"ok":true}`), false},
		{"catalogued error", Case{Refuse: true}, reply("400", "10002", good), false},
		{"success that is not JSON", Case{}, reply("", "", `nope`), true},
		{"success where a refusal is due", Case{Refuse: true}, reply("", "", `{}`), true},
		{"code not in the catalogue", Case{}, reply("400", "500", good), true},
		{"code not a number", Case{}, reply("400", "x", good), true},
		{"no code header", Case{}, reply("400", "", good), true},
		{"status not the entry's", Case{}, reply("500", "10002", good), true},
		{"body of another code", Case{}, reply("400", "10001", good), true},
		{"body not an error reply", Case{}, reply("400", "10002", `{}`), true},
		{"unknown_field for declared fields", Case{DeclaredOnly: true}, reply("400", "10002", good), true},
	} {
		if v := Judge(tc.c, tc.msg); (v.Problem != "") != tc.problem {
			t.Errorf("%s: verdict %+v", tc.name, v)
		}
	}
}

// TestGenerateIsDeterministic: a seed gives the same cases; another seed
// other mixed bodies; every class of the schema's fields is present.
func TestGenerateIsDeterministic(t *testing.T) {
	schema, err := ParseSchema(`{"id":"string","limit":"integer","override":["string"],"queue":"boolean","at":"string","filter":{"kind":"string"}}`)
	if err != nil {
		t.Fatal(err)
	}
	ep := Endpoint{Subject: "statemgr.host.power.on", Request: schema, MaxBytes: 65536}
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	a, b, other := Generate(ep, 1, now), Generate(ep, 1, now), Generate(ep, 2, now)
	same := func(x, y []Case) bool {
		return slices.EqualFunc(x, y, func(p, q Case) bool { return p.Subject == q.Subject && bytes.Equal(p.Body, q.Body) })
	}
	if !same(a, b) || same(a, other) {
		t.Fatalf("seed 1 twice equal %v, seed 1 and 2 equal %v", same(a, b), same(a, other))
	}
	classes := map[Class]bool{}
	for _, c := range a {
		classes[c.Class] = true
		if c.Class == ClassSizeAtLimit && len(c.Body) != 65536 || c.Class == ClassSizePastLimit && len(c.Body) != 65537 {
			t.Errorf("%s body is %d bytes", c.Class, len(c.Body))
		}
	}
	for _, want := range []Class{ClassValid, ClassNotObject, ClassMalformed, ClassUnknownField, ClassWrongType, ClassNull,
		ClassHugeNumber, ClassNegative, ClassInvalidUTF8, ClassNUL, ClassOddValue, ClassHugeArray, ClassSizeAtLimit,
		ClassSizePastLimit, ClassMixed, ClassDuplicateKey, ClassWrongCase, ClassAtHorizon, ClassNestingDepth} {
		if !classes[want] {
			t.Errorf("no %s case", want)
		}
	}
}
