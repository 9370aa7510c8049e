package main

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// unitSettings reads a systemd unit file into section -> key -> value
// (the last assignment of a key wins, as in systemd).
func unitSettings(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sections := map[string]map[string]string{}
	var current map[string]string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, ";"):
		case strings.HasPrefix(text, "[") && strings.HasSuffix(text, "]"):
			current = map[string]string{}
			sections[text[1:len(text)-1]] = current
		default:
			key, value, ok := strings.Cut(text, "=")
			if !ok || current == nil {
				t.Fatalf("%s:%d: %q is neither a section nor a key=value in one", path, line, text)
			}
			current[strings.TrimSpace(key)] = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sections
}

// The unit keeps restarting the daemon however often it crashes: with
// systemd's default start limit a burst of crashes leaves the BMC without
// its state manager until someone resets the unit (issue 23 item 13).
func TestUnitKeepsRestarting(t *testing.T) {
	unit := unitSettings(t, "statemgrd.service")
	if got := unit["Service"]["Restart"]; got != "always" {
		t.Errorf("[Service] Restart=%q, want always", got)
	}
	if got, ok := unit["Unit"]["StartLimitIntervalSec"]; !ok || got != "0" {
		t.Errorf("[Unit] StartLimitIntervalSec=%q (set: %v), want 0: no start limit", got, ok)
	}
	if _, ok := unit["Service"]["StartLimitIntervalSec"]; ok {
		t.Error("StartLimitIntervalSec belongs in [Unit]; systemd ignores it in [Service]")
	}
}
