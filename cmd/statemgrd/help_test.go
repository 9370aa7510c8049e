package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestHelpPrintsUsageWithDefaults: -h is a request, not a mistake: usage on
// stdout, exit 0, each flag with its type and default.
func TestHelpPrintsUsageWithDefaults(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
			t.Fatalf("statemgrd %s: exit %d, stderr %q", arg, code, stderr.String())
		}
		usage := stdout.String()
		for _, want := range []string{"Usage: statemgrd", "-http-listen string", `(default "127.0.0.1:9090")`,
			"-nats-listen string", `(default "127.0.0.1:4222")`, "-storage-profile string", `(default "bmc")`, `(default "info")`, "-version", "statemgrd statemgr --help"} {
			if !strings.Contains(usage, want) {
				t.Errorf("statemgrd %s lacks %q:\n%s", arg, want, usage)
			}
		}
		if strings.Contains(usage, " value\n") {
			t.Errorf("statemgrd %s shows a flag's type as value:\n%s", arg, usage)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	for _, arg := range []string{"-version", "--version"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, &stdout, &stderr); code != 0 || stdout.String() != "statemgrd "+version+"\n" {
			t.Fatalf("statemgrd %s: exit %d, stdout %q, stderr %q", arg, code, stdout.String(), stderr.String())
		}
	}
}

// A flag given with its default value still overrides the file.
func TestFlagAtDefaultOverridesFile(t *testing.T) {
	o, err := parseFlags([]string{"-log-level", "info"})
	if err != nil {
		t.Fatal(err)
	}
	if o.overrides["log-level"] != "info" || len(o.overrides) != 1 {
		t.Fatalf("overrides = %v, want only log-level=info", o.overrides)
	}
}

// Every daemon command line of the README (go run ./cmd/statemgrd) is one the
// daemon accepts: its flags parse and the configuration they make is valid.
func TestREADMEDaemonLinesParse(t *testing.T) {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for n, line := range strings.Split(string(text), "\n") {
		rest, ok := strings.CutPrefix(line, "go run ./cmd/statemgrd")
		if !ok || (rest != "" && rest[0] != ' ') {
			continue
		}
		rest, _, _ = strings.Cut(rest, "#")
		// go run names the binary statemgrd; the CLI's lines
		// (go run ./cmd/statemgrd statemgr ...) are cmd/statemgr/cli's to check.
		program, args, _ := chooseProgram("statemgrd", strings.Fields(rest))
		if program != daemonProgram {
			continue
		}
		found++
		o, err := parseFlags(args)
		if err == nil {
			_, err = load(o)
		}
		if err != nil {
			t.Errorf("README.md:%d: statemgrd%s: %v", n+1, rest, err)
		}
	}
	if found == 0 {
		t.Fatal("README.md shows no statemgrd command line")
	}
}
