package cli

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/servertest"
)

// docLine is one statemgr command line shown to users, with its comment.
type docLine struct {
	source  string // where it is shown
	line    string
	comment string
	args    []string
}

// readmeCommandLines returns the "go run ./cmd/statemgr ..." lines of the
// README's shell blocks, in order.
func readmeCommandLines(t *testing.T) []docLine {
	t.Helper()
	text, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []docLine
	inShell := false
	for n, raw := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(raw, "```"):
			inShell = !inShell && strings.TrimPrefix(raw, "```") == "sh"
		case inShell && strings.HasPrefix(raw, "go run ./cmd/statemgr "):
			lines = append(lines, parseDocLine(t, "README.md:"+itoa(uint64(n+1)), strings.TrimPrefix(raw, "go run ./cmd/statemgr ")))
		}
	}
	if len(lines) == 0 {
		t.Fatal("README.md shows no statemgr command line")
	}
	return lines
}

// exampleCommandLines returns every line of every command's Examples.
func exampleCommandLines(t *testing.T, cmd *cobra.Command) []docLine {
	t.Helper()
	var lines []docLine
	for _, raw := range strings.Split(cmd.Example, "\n") {
		if cmd.Example == "" {
			break
		}
		line := strings.TrimSpace(raw)
		rest, ok := strings.CutPrefix(line, "statemgr ")
		if !ok {
			t.Fatalf("%s: example %q does not start with statemgr", cmd.CommandPath(), line)
		}
		lines = append(lines, parseDocLine(t, cmd.CommandPath()+" --help", rest))
	}
	for _, sub := range cmd.Commands() {
		lines = append(lines, exampleCommandLines(t, sub)...)
	}
	return lines
}

// parseDocLine splits a shell line with '...' and "..." quoting and a
// trailing # comment.
func parseDocLine(t *testing.T, source, line string) docLine {
	t.Helper()
	l := docLine{source: source, line: line}
	var arg strings.Builder
	inArg := false
	var quote rune
	for i, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			arg.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == '#' && !inArg:
			l.comment = strings.TrimSpace(line[i+1:])
			return l
		case r == ' ' || r == '\t':
			if inArg {
				l.args, inArg = append(l.args, arg.String()), false
				arg.Reset()
			}
		default:
			arg.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		t.Fatalf("%s: unbalanced quote in %q", source, line)
	}
	if inArg {
		l.args = append(l.args, arg.String())
	}
	return l
}

// offline are the commands that never talk to the daemon and run for
// minutes as shown: their lines are parsed (command, flags, arguments),
// not run.
var offline = map[string]bool{"statemgr bench log": true, "statemgr sim": true}

// runDocLine runs l against the server at url. A following tail (-f)
// runs for a second.
func runDocLine(t *testing.T, url string, l docLine) (string, error) {
	t.Helper()
	root := newRootCommand(testVersion)
	cmd, rest, err := root.Find(l.args)
	if err != nil {
		return "", err
	}
	if cmd == root {
		return "", errors.New("no such command")
	}
	if offline[cmd.CommandPath()] {
		if err := cmd.ParseFlags(rest); err != nil {
			return "", err
		}
		return "", cmd.ValidateArgs(cmd.Flags().Args())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if cmd.Name() == "tail" {
		ctx, cancel = context.WithTimeout(ctx, time.Second)
		defer cancel()
	}
	var out syncBuffer
	err = runCLI(ctx, url, &out, l.args...)
	return out.String(), err
}

// TestREADMECommandLinesRun runs the README's walk-through in order
// against one daemon: each line succeeds, except those the README says
// are refused, which are refused by the server.
func TestREADMECommandLinesRun(t *testing.T) {
	env := servertest.Start(t, servertest.Options{})
	for _, l := range readmeCommandLines(t) {
		out, err := runDocLine(t, env.URL, l)
		var serr *server.Error
		switch refused := strings.Contains(l.comment, "refused"); {
		case refused && !errors.As(err, &serr):
			t.Errorf("%s: statemgr %s: the README says it is refused; got %v\n%s", l.source, l.line, err, out)
		case !refused && err != nil:
			t.Errorf("%s: statemgr %s: %v\n%s", l.source, l.line, err, out)
		}
	}
}

// TestHelpExamplesRun runs every command's Examples, each against a fresh
// daemon. An example may be refused by the server in the state a fresh
// daemon is in (operation op-1 does not exist there), but every one must be
// a valid command line the server answers.
func TestHelpExamplesRun(t *testing.T) {
	lines := exampleCommandLines(t, newRootCommand(testVersion))
	if len(lines) < 20 {
		t.Fatalf("found only %d example lines", len(lines))
	}
	for _, l := range lines {
		t.Run(strings.Join(l.args, " "), func(t *testing.T) {
			env := servertest.Start(t, servertest.Options{})
			out, err := runDocLine(t, env.URL, l)
			var serr *server.Error
			if err != nil && !errors.As(err, &serr) {
				t.Fatalf("%s: statemgr %s: %v\n%s", l.source, l.line, err, out)
			}
			if err != nil {
				t.Logf("refused by the server as a fresh daemon stands: %v", err)
			}
		})
	}
}
