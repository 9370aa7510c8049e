package logbench

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestMeasureCountsEveryAppend(t *testing.T) {
	for _, sys := range append(slices.Clone(Systems), Memory) {
		t.Run(string(sys), func(t *testing.T) {
			a, err := OpenAppender(sys, t.TempDir(), Options{Profile: "bmc"})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			s, err := Measure(context.Background(), a, 4, Limit{Count: 50})
			if err != nil {
				t.Fatal(err)
			}
			// An append to memory can take less than the microsecond
			// the percentiles count in.
			if s.Events != 50 || s.EventsPerSec <= 0 || (s.P50Micros <= 0 && sys != Memory) || s.P99Micros < s.P50Micros || s.MaxMicros < s.P99Micros {
				t.Fatalf("implausible sample %+v", s)
			}
		})
	}
}

func TestRunSmallSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two logs")
	}
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.Profile = "bmc"
	cfg.Appenders = []int{2, TargetAppenders}
	cfg.Duration = 30 * time.Millisecond
	cfg.Repeat = 1
	cfg.ReplayEvents = SmallLogEvents + 2000
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Append.Levels) != 2 || len(rep.Append.Verdicts) != 3 {
		t.Fatalf("append report %+v", rep.Append)
	}
	for _, l := range rep.Append.Levels {
		if len(l.RoundsVsRaw) != cfg.Repeat || l.VsRaw != l.RoundsVsRaw[0] || l.VsNaive <= 0 {
			t.Fatalf("ratios of level %d: %+v", l.Appenders, l)
		}
	}
	if rep.Replay.ScanAll.EventsPerSec <= 0 || rep.Replay.ReadAll.EventsPerSec <= 0 {
		t.Fatalf("replay report %+v", rep.Replay)
	}
	for _, l := range rep.Recovery.Logs {
		if l.FromSnapshot != 1000 || l.Replayed != TargetEvents-1000 || l.FullReplayed != TargetEvents {
			t.Fatalf("recovery of the log of %d events: from %d, replayed %d, full %d; want from 1000, %d and %d",
				l.LogEvents, l.FromSnapshot, l.Replayed, l.FullReplayed, TargetEvents-1000, TargetEvents)
		}
	}
	if len(rep.Verdicts()) != 5 {
		t.Fatalf("%d verdicts, want 5", len(rep.Verdicts()))
	}
}

func TestValidateNamesTheProblem(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no appenders", func(c *Config) { c.Appenders = nil }},
		{"zero appenders", func(c *Config) { c.Appenders = []int{0} }},
		{"zero duration", func(c *Config) { c.Duration = 0 }},
		{"zero repeat", func(c *Config) { c.Repeat = 0 }},
		{"short log", func(c *Config) { c.ReplayEvents = 100 }},
		{"bad part", func(c *Config) { c.Parts = []Part{"fsync"} }},
		{"bad profile", func(c *Config) { c.Profile = "laptop" }},
		{"missing dir", func(c *Config) { c.Dir = "/nonexistent/logbench" }},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.edit(&cfg)
		if err := cfg.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Validate() = %v, want ErrConfig", tt.name, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
}
