package server_test

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/statemgr/statemgr/actors/machine"
	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// apiSection is one subject documented in docs/API.md.
type apiSection struct {
	subject, kind        string
	request, reply, fail string // the code blocks after **Request**, **Reply**, **Error**
}

var (
	sectionHeading = regexp.MustCompile("(?m)^### `([^`]+)`\\s*$")
	kindLine       = regexp.MustCompile(`(?m)^Kind: (read|control)\.`)
	errorRow       = regexp.MustCompile("(?m)^\\| (\\d+) \\| (\\d+) \\| `([a-z_]+)` \\|")
)

func parseAPIDoc(t *testing.T) (map[string]apiSection, string) {
	t.Helper()
	raw, err := os.ReadFile("../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	sections := map[string]apiSection{}
	locs := sectionHeading.FindAllStringSubmatchIndex(doc, -1)
	for i, loc := range locs {
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if next := strings.Index(doc[loc[1]:end], "\n## "); next >= 0 {
			end = loc[1] + next
		}
		body := doc[loc[1]:end]
		subject := doc[loc[2]:loc[3]]
		s := apiSection{subject: subject, request: block(body, "**Request**"), reply: block(body, "**Reply**"), fail: block(body, "**Error**")}
		if m := kindLine.FindStringSubmatch(body); m != nil {
			s.kind = m[1]
		}
		if _, dup := sections[subject]; dup {
			t.Errorf("docs/API.md documents %s twice", subject)
		}
		sections[subject] = s
	}
	return sections, doc
}

// block returns the fenced code block following label in body.
func block(body, label string) string {
	i := strings.Index(body, label)
	if i < 0 {
		return ""
	}
	rest := body[i+len(label):]
	start := strings.Index(rest, "```")
	if start < 0 {
		return ""
	}
	rest = rest[start+3:]
	rest = rest[strings.Index(rest, "\n")+1:]
	end := strings.Index(rest, "```")
	if end < 0 {
		return ""
	}
	return rest[:end]
}

// TestAPIDocMatchesEndpoints checks docs/API.md against the endpoints the
// running service registers, both ways, and each documented example.
func TestAPIDocMatchesEndpoints(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Platform: servicePlatform(t)})
	nc := env.Connect(t)
	// Ask the running service over NATS, as `nats micro info` does.
	msg, err := nc.Request("$SRV.INFO."+server.ServiceName, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		t.Fatal(err)
	}
	if local, ok := env.Server.Info(); !ok || len(local.Endpoints) != len(info.Endpoints) || info.Version != local.Version {
		t.Fatalf("$SRV.INFO lists %d endpoints, Server.Info %d", len(info.Endpoints), len(local.Endpoints))
	}
	sections, doc := parseAPIDoc(t)
	registered := map[string]string{}
	for _, ep := range info.Endpoints {
		registered[ep.Subject] = ep.Metadata["kind"]
	}
	for subject, kind := range registered {
		s, ok := sections[subject]
		if !ok {
			t.Errorf("endpoint %s is not documented in docs/API.md", subject)
			continue
		}
		if s.kind != kind {
			t.Errorf("docs/API.md says %s is %q, the service registers it as %q", subject, s.kind, kind)
		}
	}
	var documented []string
	for subject := range sections {
		documented = append(documented, subject)
	}
	sort.Strings(documented)
	cl := client.New(nc)
	for _, subject := range documented {
		s := sections[subject]
		if _, ok := registered[subject]; !ok {
			t.Errorf("docs/API.md documents %s, which the service does not register", subject)
			continue
		}
		t.Run(subject, func(t *testing.T) {
			for name, text := range map[string]string{"request": s.request, "reply": s.reply} {
				var v map[string]any
				if err := json.Unmarshal([]byte(text), &v); err != nil {
					t.Errorf("%s example is not a JSON object: %v\n%s", name, err, text)
				}
			}
			checkErrorExample(t, s.fail)
			if s.kind != server.EndpointRead {
				return
			}
			// A read example must be a request the server takes as is.
			ctx := ctxT(t)
			err := cl.RequestRaw(ctx, subject, []byte(s.request), nil)
			for _, refused := range []*server.ErrorKind{server.ErrBadRequest, server.ErrUnknownField, server.ErrBadID, server.ErrWrongKind} {
				if errors.Is(err, refused) {
					t.Errorf("the documented request is refused: %v", err)
				}
			}
		})
	}
	// The error table lists the catalogue.
	rows := errorRow.FindAllStringSubmatch(doc, -1)
	if len(rows) != len(server.Catalogue) {
		t.Fatalf("docs/API.md lists %d errors, the catalogue has %d", len(rows), len(server.Catalogue))
	}
	for i, row := range rows {
		k := server.Catalogue[i]
		if row[1] != strconv.Itoa(k.Code) || row[2] != strconv.Itoa(k.Status) || row[3] != k.Name() {
			t.Errorf("error row %v, catalogue %d %d %s", row[1:], k.Code, k.Status, k.Name())
		}
	}
}

// checkErrorExample checks an error example: the status header is the
// catalogue entry's HTTP-like status, the code header names the entry and
// the body is its ErrorReply.
func checkErrorExample(t *testing.T, text string) {
	t.Helper()
	lines := strings.SplitN(strings.TrimSpace(text), "\n", 4)
	statusPrefix, codePrefix := micro.ErrorCodeHeader+": ", server.HeaderErrorCode+": "
	if len(lines) != 4 || !strings.HasPrefix(lines[0], statusPrefix) || !strings.HasPrefix(lines[1], codePrefix) || !strings.HasPrefix(lines[2], micro.ErrorHeader+": ") {
		t.Fatalf("error example is not status header, code header, message header, body:\n%s", text)
	}
	code, err := strconv.Atoi(strings.TrimPrefix(lines[1], codePrefix))
	if err != nil {
		t.Fatal(err)
	}
	kind, ok := server.LookupError(code)
	if !ok {
		t.Fatalf("error example code %d is not in the catalogue", code)
	}
	if status := strings.TrimPrefix(lines[0], statusPrefix); status != strconv.Itoa(kind.Status) {
		t.Errorf("error example status %s, catalogue entry %s has %d", status, kind.Constant, kind.Status)
	}
	var body server.ErrorReply
	if err := json.Unmarshal([]byte(lines[3]), &body); err != nil {
		t.Fatalf("error example body: %v", err)
	}
	if body.Error.Code != code || body.Error.Status != kind.Status || body.Error.Name != kind.Name() || body.Error.Message == "" || body.Error.Hint == "" {
		t.Errorf("error example body %+v does not match catalogue entry %s", body.Error, kind.Constant)
	}
}

// TestEventsNamespaceCarriesNoRequests sends a request to every endpoint the
// service registers while subscribed to the whole events namespace it
// advertises: the subscriber must see events only, never a request.
func TestEventsNamespaceCarriesNoRequests(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	nc := env.Connect(t)
	events := subscribe(t, nc, server.SubjectEventsPrefix+">")
	info, ok := env.Server.Info()
	if !ok {
		t.Fatal("the service is not registered")
	}
	for _, ep := range info.Endpoints {
		if strings.HasPrefix(ep.Subject, server.SubjectEventsPrefix) {
			t.Errorf("request subject %s lies in the events namespace %s>", ep.Subject, server.SubjectEventsPrefix)
		}
		if strings.Contains(ep.Subject, "*") {
			continue // a service's own subject; none lies in the namespace (checked above)
		}
		if _, err := nc.Request(ep.Subject, []byte(`{}`), 5*time.Second); err != nil {
			t.Fatalf("%s: %v", ep.Subject, err)
		}
	}
	// The first message after the requests is the event this records.
	env.Observe(t, "bmc.0", machine.ObservedServicesReady)
	msg, err := events.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get(server.HeaderSeq) == "" {
		t.Fatalf("the events subscriber received %s %q, not an event", msg.Subject, msg.Data)
	}
}
