package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/statemgr/statemgr/server"
)

// Exit codes, so that a script can tell a refusal from an unreachable
// server (README "Exit codes", statemgr --help).
const (
	exitOK          = 0
	exitFailed      = 1 // the server refused (a catalogued error), the operation failed, or a local file was bad
	exitUsage       = 2 // a bad flag or argument
	exitUnreachable = 3 // no answer: no server, the connection failed, or it timed out (outcome unknown)
	exitDenied      = 4 // the NATS server refused the credentials, or the user may not send the request
)

// exitCodesHelp is the exit code section of statemgr --help.
const exitCodesHelp = `Exit codes:
  0  success
  1  the server refused the request (a catalogued error, e.g. rejected, interlock),
     the operation ended other than succeeded, or a local input file was bad
  2  usage: a bad flag or argument
  3  unreachable: no statemgr server answered, the connection failed or timed out
     (the outcome of a control request is unknown: retry with the same --operation)
  4  denied: the credentials were refused, or the user may not send the request
With -o json a failure is also printed on stdout as {"error": {...}} (see README).`

// Classes of failure beside errUsage; the messages say what to do.
var (
	errUnreachable = errors.New("unreachable")
	errDenied      = errors.New("denied")
)

// refusedError is a catalogued error the server answered with, rendered
// for the command line; Unwrap keeps the *server.Error.
type refusedError struct {
	text string
	api  *server.Error
}

func (e *refusedError) Error() string { return e.text }
func (e *refusedError) Unwrap() error { return e.api }

// outcomeError is a control request the server accepted whose operation
// ended other than succeeded. With -o json the reply, outcome included, is
// already on stdout.
type outcomeError struct{ text string }

func (e *outcomeError) Error() string { return e.text }

// exitCode classifies err.
func exitCode(err error) (code int, class string) {
	var api *server.Error
	switch {
	case err == nil:
		return exitOK, ""
	case errors.Is(err, errUsage):
		return exitUsage, "usage"
	case errors.Is(err, errDenied):
		return exitDenied, "denied"
	case errors.Is(err, errUnreachable):
		return exitUnreachable, "unreachable"
	case errors.As(err, &api):
		return exitFailed, "refused"
	}
	return exitFailed, "failed"
}

// jsonError is the -o json form of a failure, on stdout. The fields past
// message are the server's error reply (docs/API.md "Errors"), when it
// sent one.
type jsonError struct {
	Error jsonErrorDetail `json:"error"`
}

type jsonErrorDetail struct {
	ExitCode int             `json:"exit_code"`
	Class    string          `json:"class"` // refused, failed, usage, unreachable, denied
	Message  string          `json:"message"`
	Code     int             `json:"code,omitempty"`
	Status   int             `json:"status,omitempty"`
	Name     string          `json:"name,omitempty"`
	Hint     string          `json:"hint,omitempty"`
	State    string          `json:"state,omitempty"`
	Allowed  []string        `json:"allowed,omitempty"`
	Refusal  *server.Refusal `json:"refusal,omitempty"`
}

// report prints err (on stderr; with -o json on stdout too) and returns the
// exit code.
func report(err error, jsonOutput bool, stdout, stderr io.Writer) int {
	code, class := exitCode(err)
	if code == exitOK {
		return exitOK
	}
	fmt.Fprintln(stderr, "statemgr:", err)
	var outcome *outcomeError
	if !jsonOutput || errors.As(err, &outcome) {
		return code
	}
	detail := jsonErrorDetail{ExitCode: code, Class: class, Message: err.Error()}
	var api *server.Error
	if errors.As(err, &api) {
		r := api.Reply().Error
		detail.Message, detail.Code, detail.Status, detail.Name, detail.Hint = r.Message, r.Code, r.Status, r.Name, r.Hint
		detail.State, detail.Allowed, detail.Refusal = r.State, r.Allowed, r.Refusal
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(jsonError{Error: detail})
	return code
}

// usageArgs makes cobra's argument checks usage errors, on cmd and every
// command under it.
func usageArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return fmt.Errorf("%w: %w (see %s --help)", errUsage, err, c.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		usageArgs(sub)
	}
}

// Main runs the command line args (without the program name) as statemgr
// version and returns the exit code.
func Main(version string, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(version)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// An unknown command is cobra's error from Find, before any of ours.
	if _, _, err := root.Find(args); err != nil {
		return report(fmt.Errorf("%w: %w (see statemgr --help)", errUsage, err), outputFlag(args) == outputJSON, stdout, stderr)
	}
	err := root.Execute()
	output := outputFlag(args)
	if f := root.PersistentFlags().Lookup("output"); f != nil && f.Changed {
		output = f.Value.String()
	}
	return report(err, output == outputJSON, stdout, stderr)
}

// outputFlag finds -o/--output in args the way pflag reads it, for a
// command line that failed before its flags were parsed: a script that asks
// for JSON gets its usage error as JSON too.
func outputFlag(args []string) string {
	output := outputText
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return output
		case arg == "-o" || arg == "--output":
			if i+1 < len(args) {
				output = args[i+1]
				i++
			}
		case strings.HasPrefix(arg, "--output="):
			output = strings.TrimPrefix(arg, "--output=")
		case strings.HasPrefix(arg, "-o") && !strings.HasPrefix(arg, "--"):
			output = strings.TrimPrefix(strings.TrimPrefix(arg, "-o"), "=")
		}
	}
	return output
}
