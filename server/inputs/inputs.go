package inputs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/platform"
)

// Errors of a refused report.
var (
	// ErrUnknownInput: the platform file declares no input of that kind
	// and name.
	ErrUnknownInput = errors.New("no such input in the platform file")
	// ErrBadReport: a value of the report is missing or out of range.
	ErrBadReport = errors.New("invalid input report")
)

// Bounds of a report.
const (
	MaxText       = 256     // bytes of "sensor" and of "message"
	MinCelsius    = -273.15 // absolute zero
	MaxCelsius    = 1000.0  // beyond any sensor a BMC reads
	ReportedByAny = ""      // a report whose publisher is not known
)

// Thermal is a thermal input's report. Celsius is nil when the report
// gives only a level.
type Thermal struct {
	Celsius *float64
	Level   string // "", normal, warning or critical
	Sensor  string // the sensor the reading is from, if the reporter says
	Message string
}

// Health is a health input's report.
type Health struct {
	Level   string // ok, warning or critical
	Message string
}

// Reading is an input's state as the Store holds it at one moment.
type Reading = coordinator.InputReading

// Store holds the last report of every input the platform file declares.
type Store struct {
	clk clock.Clock
	log hclog.Logger

	mu         sync.Mutex
	started    time.Time
	entries    map[key]*entry // fixed by New; their fields change under mu
	onCritical func(name, evidence string)
}

type key struct {
	kind platform.InputKind
	name string
}

type entry struct {
	cfg      platform.Input
	hosts    []actors.ID
	reported bool
	at       time.Time // of the last report
	level    string
	by       string
	text     string // the last report, for evidence
	stale    bool   // staleness was logged
}

// New makes a Store for p's inputs on clk; logger may be nil.
func New(p *platform.Platform, clk clock.Clock, logger hclog.Logger) *Store {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	s := &Store{clk: clk, log: logger, started: clk.Now(), entries: map[key]*entry{}}
	for _, in := range p.Inputs {
		s.entries[key{in.Kind, in.Name}] = &entry{cfg: in, hosts: coordinator.InputHosts(in)}
	}
	return s
}

// OnCritical sets the hook that hears a thermal input becoming critical,
// with the evidence (nil: none). It is called outside the Store's lock and
// must not block for long: the reporter's reply waits for it.
func (s *Store) OnCritical(f func(name, evidence string)) {
	s.mu.Lock()
	s.onCritical = f
	s.mu.Unlock()
}

// Declared reports whether the platform file declares the input.
func (s *Store) Declared(kind platform.InputKind, name string) bool {
	_, ok := s.entries[key{kind, name}]
	return ok
}

func (s *Store) lookup(kind platform.InputKind, name string) (*entry, error) {
	e, ok := s.entries[key{kind, name}]
	if !ok {
		var names []string
		for k := range s.entries {
			if k.kind == kind {
				names = append(names, k.name)
			}
		}
		slices.Sort(names)
		if len(names) == 0 {
			return nil, fmt.Errorf("%w: %s input %q: the platform file declares no %s input; add an input %q %q block", ErrUnknownInput, kind, name, kind, kind, name)
		}
		return nil, fmt.Errorf("%w: %s input %q: the platform file declares %s", ErrUnknownInput, kind, name, strings.Join(names, ", "))
	}
	return e, nil
}

func checkText(field, v string) error {
	if len(v) > MaxText {
		return fmt.Errorf("%w: %q is %d bytes, at most %d", ErrBadReport, field, len(v), MaxText)
	}
	return nil
}

// levelRank orders levels from harmless to critical; -1: not a level.
func levelRank(kind platform.InputKind, level string) int {
	good := coordinator.LevelNormal
	if kind == platform.InputHealth {
		good = coordinator.LevelOK
	}
	return slices.Index([]string{good, coordinator.LevelWarning, coordinator.LevelCritical}, level)
}

// ReportThermal records a thermal input's report from by (the NATS user,
// or ReportedByAny) and returns the input's reading.
func (s *Store) ReportThermal(name string, r Thermal, by string) (Reading, error) {
	e, err := s.lookup(platform.InputThermal, name)
	if err != nil {
		return Reading{}, err
	}
	if err := errors.Join(checkText("sensor", r.Sensor), checkText("message", r.Message)); err != nil {
		return Reading{}, err
	}
	level := -1
	if r.Level != "" {
		if level = levelRank(platform.InputThermal, r.Level); level < 0 {
			return Reading{}, fmt.Errorf("%w: level %q: a thermal level is normal, warning or critical", ErrBadReport, r.Level)
		}
	}
	var text []string
	if r.Celsius != nil {
		c := *r.Celsius
		if math.IsNaN(c) || c < MinCelsius || c > MaxCelsius {
			return Reading{}, fmt.Errorf("%w: celsius %g is outside %g..%g", ErrBadReport, c, MinCelsius, MaxCelsius)
		}
		measured := 0
		switch {
		case c >= e.cfg.Critical:
			measured = 2
		case c >= e.cfg.Warning:
			measured = 1
		}
		level = max(level, measured)
		text = append(text, fmt.Sprintf("%.1f °C (warning %g °C, critical %g °C)", c, e.cfg.Warning, e.cfg.Critical))
	}
	if level < 0 {
		return Reading{}, fmt.Errorf(`%w: a thermal report needs "celsius", "level" (normal, warning, critical) or both`, ErrBadReport)
	}
	if r.Level != "" {
		text = append(text, "reported level "+r.Level)
	}
	if r.Sensor != "" {
		text = append(text, "sensor "+r.Sensor)
	}
	if r.Message != "" {
		text = append(text, r.Message)
	}
	return s.record(e, []string{coordinator.LevelNormal, coordinator.LevelWarning, coordinator.LevelCritical}[level], strings.Join(text, ", "), by)
}

// ReportHealth records a health input's report from by and returns the
// input's reading.
func (s *Store) ReportHealth(name string, r Health, by string) (Reading, error) {
	e, err := s.lookup(platform.InputHealth, name)
	if err != nil {
		return Reading{}, err
	}
	if err := checkText("message", r.Message); err != nil {
		return Reading{}, err
	}
	if levelRank(platform.InputHealth, r.Level) < 0 {
		return Reading{}, fmt.Errorf(`%w: level %q: a health report's "level" is ok, warning or critical`, ErrBadReport, r.Level)
	}
	text := "level " + r.Level
	if r.Message != "" {
		text += ", " + r.Message
	}
	return s.record(e, r.Level, text, by)
}

// record stores a checked report and tells OnCritical of a thermal input
// that became critical.
func (s *Store) record(e *entry, level, text, by string) (Reading, error) {
	now := s.clk.Now()
	s.mu.Lock()
	wasKnown := e.reported && !s.staleAt(e, now)
	before := e.level
	e.reported, e.at, e.level, e.text, e.by, e.stale = true, now, level, text, by, false
	r := s.reading(e, now)
	hook := s.onCritical
	s.mu.Unlock()
	changed := !wasKnown || before != level
	if changed {
		args := []any{"input", string(e.cfg.Kind) + "." + e.cfg.Name, "level", level, "report", text, "by", by}
		switch level {
		case coordinator.LevelCritical:
			s.log.Error("external input level changed", args...)
		case coordinator.LevelWarning:
			s.log.Warn("external input level changed", args...)
		default:
			s.log.Info("external input level changed", args...)
		}
	}
	if changed && level == coordinator.LevelCritical && e.cfg.Kind == platform.InputThermal && hook != nil {
		hook(e.cfg.Name, fmt.Sprintf("input thermal.%s reports critical (%s)", e.cfg.Name, r.Detail))
	}
	return r, nil
}

func (s *Store) staleAt(e *entry, now time.Time) bool {
	return now.Sub(e.at) > e.cfg.StaleAfter
}

// reading renders e at now; s.mu is held.
func (s *Store) reading(e *entry, now time.Time) Reading {
	r := Reading{Kind: e.cfg.Kind, Name: e.cfg.Name, Hosts: e.hosts, UnknownBlocksPowerOn: e.cfg.UnknownBlocksPowerOn}
	if e.reported {
		r.LastReport = e.at
	}
	by := e.by
	if by == ReportedByAny {
		by = "an unidentified publisher"
	}
	switch {
	case !e.reported:
		r.Detail = fmt.Sprintf("no report since statemgrd started %v ago (stale after %v)", now.Sub(s.started).Round(time.Millisecond), e.cfg.StaleAfter)
	case s.staleAt(e, now):
		r.Detail = fmt.Sprintf("last report %v ago by %s, stale after %v: %s", now.Sub(e.at).Round(time.Millisecond), by, e.cfg.StaleAfter, e.text)
	default:
		r.Known, r.Level = true, e.level
		r.Detail = fmt.Sprintf("%s, reported by %s %v ago", e.text, by, now.Sub(e.at).Round(time.Millisecond))
	}
	return r
}

// Readings returns every input's reading now, in kind and name order. It
// implements coordinator.Inputs. An input found stale for the first time
// since its last report is logged.
func (s *Store) Readings() []Reading {
	now := s.clk.Now()
	s.mu.Lock()
	out := make([]Reading, 0, len(s.entries))
	var stale []Reading
	for _, e := range s.entries {
		r := s.reading(e, now)
		if e.reported && !r.Known && !e.stale {
			e.stale = true
			stale = append(stale, r)
		}
		out = append(out, r)
	}
	s.mu.Unlock()
	for _, r := range stale {
		s.log.Warn("external input stopped reporting; it counts as unknown", "input", string(r.Kind)+"."+r.Name,
			"detail", r.Detail, "blocks_power_on", r.UnknownBlocksPowerOn)
	}
	slices.SortFunc(out, func(a, b Reading) int {
		return strings.Compare(string(a.Kind)+"."+a.Name, string(b.Kind)+"."+b.Name)
	})
	return out
}

var _ coordinator.Inputs = (*Store)(nil)
