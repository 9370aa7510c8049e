package sim

import (
	"context"
	"fmt"
	"slices"
	"time"

	"pgregory.net/rapid"

	"github.com/statemgr/statemgr/actors"
	"github.com/statemgr/statemgr/actors/coordinator"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/adapters/simhw"
	"github.com/statemgr/statemgr/server/inputs"
)

// inputBlocks are the external inputs of InputsPlatform: a thermal
// manager's inlet zone for every host, whose silence blocks power-ons, and
// a sensor monitor's voltage regulator, whose silence blocks nothing.
const inputBlocks = `
input "thermal" "inlet" {
  warning                 = 75
  critical                = 90
  stale_after             = "30s"
  unknown_blocks_power_on = true
}

input "health" "vr0" {
  stale_after             = "30s"
  unknown_blocks_power_on = false
}
`

// InputsPlatform is the built-in platform with external inputs declared
// (statemgr sim --inputs): a thermal input "inlet" (critical 90 °C,
// unknown blocks power-on) and a health input "vr0" (unknown blocks
// nothing). Its campaign also draws the input actions: reports, silence,
// flapping and lies.
func InputsPlatform() *platform.Platform {
	p, err := platform.Parse("sim-inputs.hcl", append(platform.DefaultSource(), inputBlocks...))
	if err != nil {
		panic(fmt.Sprintf("the simulation's inputs platform does not parse: %v", err)) // a constant: a test parses it
	}
	return p
}

// Celsius a simulated thermal manager reports for each level.
var inputCelsius = map[string]float64{coordinator.LevelNormal: 40, coordinator.LevelWarning: 80, coordinator.LevelCritical: 95}

// inputModel is what the driver reported to the inputs of the running
// daemon: the checker's own account, which the invariants judge the
// coordinator by. A new daemon starts with no report (a new process).
type inputModel struct {
	cfg      platform.Input
	hosts    []actors.ID
	reported bool
	at       time.Time
	level    string
}

// known reports whether the input's last report still holds at now.
func (m *inputModel) known(now time.Time) bool {
	return m.reported && now.Sub(m.at) <= m.cfg.StaleAfter
}

// blocking returns why the input refuses a power-on at now ("": it does
// not), and the interlock that refuses it.
func (m *inputModel) blocking(now time.Time) (string, coordinator.Interlock) {
	il := coordinator.InterlockThermal
	if m.cfg.Kind == platform.InputHealth {
		il = coordinator.InterlockHealth
	}
	switch {
	case !m.known(now) && m.cfg.UnknownBlocksPowerOn:
		return fmt.Sprintf("%s.%s unknown (last report %s)", m.cfg.Kind, m.cfg.Name, m.lastReport()), il
	case !m.known(now):
		return "", il
	case m.level == coordinator.LevelCritical, m.cfg.Kind == platform.InputThermal && m.level == coordinator.LevelWarning:
		return fmt.Sprintf("%s.%s reported %s at t=%s", m.cfg.Kind, m.cfg.Name, m.level, m.at.Sub(Epoch)), il
	}
	return "", il
}

func (m *inputModel) lastReport() string {
	if !m.reported {
		return "none since the daemon started"
	}
	return fmt.Sprintf("t=%s, stale after %s", m.at.Sub(Epoch), m.cfg.StaleAfter)
}

// critical reports whether the thermal input is known critical at now.
func (m *inputModel) critical(now time.Time) bool {
	return m.cfg.Kind == platform.InputThermal && m.known(now) && m.level == coordinator.LevelCritical
}

func (m *inputModel) concerns(hosts []actors.ID) bool {
	return len(m.hosts) == 0 || slices.ContainsFunc(hosts, func(h actors.ID) bool { return slices.Contains(m.hosts, h) })
}

// newInputs makes a daemon's Store and the model of it, or nothing on a
// platform without inputs.
func (w *world) newInputs() {
	w.inputs, w.model = nil, nil
	if len(w.opts.Platform.Inputs) == 0 {
		return
	}
	w.inputs = inputs.New(w.opts.Platform, w.clk, w.opts.Logger)
	for _, in := range w.opts.Platform.Inputs {
		w.model = append(w.model, &inputModel{cfg: in, hosts: coordinator.InputHosts(in)})
	}
}

// inputNamed returns the model of input "kind.name".
func (w *world) inputNamed(name string) (*inputModel, error) {
	for _, m := range w.model {
		if string(m.cfg.Kind)+"."+m.cfg.Name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%w: the platform declares no input %q", ErrInvalidAction, name)
}

// report sends one report to the daemon's Store, as the server does for a
// publish on statemgr.input.<kind>.<name>, and notes it in the model.
func (w *world) report(name, level string) error {
	m, err := w.inputNamed(name)
	if err != nil {
		return err
	}
	if m.cfg.Kind == platform.InputThermal {
		c, ok := inputCelsius[level]
		if !ok {
			return fmt.Errorf("%w: thermal level %q", ErrInvalidAction, level)
		}
		_, err = w.inputs.ReportThermal(m.cfg.Name, inputs.Thermal{Celsius: &c, Sensor: "sim"}, "thermalmgr")
	} else {
		_, err = w.inputs.ReportHealth(m.cfg.Name, inputs.Health{Level: level}, "sensormon")
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidAction, err)
	}
	m.reported, m.at, m.level = true, w.clk.Now(), level
	return nil
}

// inputLevels are the levels the generator reports, by input kind.
var inputLevels = map[platform.InputKind][]string{
	platform.InputThermal: {coordinator.LevelNormal, coordinator.LevelWarning, coordinator.LevelCritical},
	platform.InputHealth:  {coordinator.LevelOK, coordinator.LevelWarning, coordinator.LevelCritical},
}

// good is the harmless level of an input kind.
func good(kind platform.InputKind) string { return inputLevels[kind][0] }

// inputMix is how often the input actions are drawn, on a platform with
// inputs only (the built-in platform's runs draw exactly what they did).
// Normal reports dominate, so that power-ons are admitted often enough.
var inputMix = []weighted{{InputReport, 12}, {InputStale, 2}, {InputFlap, 2}, {InputLie, 2}}

// inputAction draws the fields of an input action.
func (g *Generator) inputAction(t *rapid.T, a *Action, label func(string) string) {
	in := rapid.SampledFrom(g.inputs).Draw(t, label("input"))
	a.Input = string(in.Kind) + "." + in.Name
	switch a.Kind {
	case InputReport:
		a.Level = good(in.Kind)
		if rapid.IntRange(0, 4).Draw(t, label("bad_level")) == 0 {
			a.Level = rapid.SampledFrom(inputLevels[in.Kind][1:]).Draw(t, label("level"))
		}
	case InputStale:
		a.Duration = in.StaleAfter + time.Duration(rapid.IntRange(1, 30).Draw(t, label("silence")))*time.Second
	case InputFlap:
		a.Count = rapid.IntRange(2, 8).Draw(t, label("flaps"))
		a.Duration = time.Duration(rapid.IntRange(0, 2000).Draw(t, label("flap_period"))) * time.Millisecond
	case InputLie:
		// A thermal input lies normal while a board zone runs away, or
		// critical while the board is cool; a health input lies ok or
		// critical.
		a.Level = rapid.SampledFrom([]string{good(in.Kind), coordinator.LevelCritical}).Draw(t, label("lie"))
		if a.Level == good(in.Kind) {
			a.Fault = &simhw.Fault{Kind: simhw.ThermalRunaway, Target: rapid.SampledFrom(g.zones).Draw(t, label("hot_zone")),
				Rate: float64(rapid.IntRange(1, 5).Draw(t, label("hot_rate")))}
		}
	}
}

// applyInput performs an input action.
func (s *simulation) applyInput(ctx context.Context, a Action) (string, error) {
	w := s.w
	m, err := w.inputNamed(a.Input)
	if err != nil {
		return "", err
	}
	switch a.Kind {
	case InputReport:
		if err := s.reportInput(ctx, a.Input, a.Level); err != nil {
			return "", err
		}
	case InputStale:
		// Nothing reports for longer than the input's staleness timeout.
		return "ok", s.advance(ctx, a.Duration)
	case InputFlap:
		levels := []string{coordinator.LevelCritical, good(m.cfg.Kind)}
		for i := range a.Count {
			if i > 0 {
				if err := s.advance(ctx, a.Duration); err != nil {
					return "", err
				}
			}
			if err := s.reportInput(ctx, a.Input, levels[i%2]); err != nil {
				return "", err
			}
		}
	case InputLie:
		if a.Fault != nil {
			s.sum.Faults++
			if err := w.board.Inject(*a.Fault); err != nil {
				return "", fmt.Errorf("%w: %w", ErrInvalidAction, err)
			}
		} else {
			for _, z := range w.topo.Zones {
				if !z.External {
					if err := w.board.Clear(simhw.ThermalRunaway, z.Name); err != nil {
						return "", fmt.Errorf("%w: %w", ErrInvalidAction, err)
					}
				}
			}
		}
		if err := s.reportInput(ctx, a.Input, a.Level); err != nil {
			return "", err
		}
	}
	return "ok", nil
}

// reportInput reports a level and settles; a critical thermal report with
// a host of the input powered must have an emergency by then.
func (s *simulation) reportInput(ctx context.Context, name, level string) error {
	s.c.disturb()
	m, err := s.w.inputNamed(name)
	if err != nil {
		return err
	}
	was := m.critical(s.w.clk.Now())
	if err := s.w.report(name, level); err != nil {
		return err
	}
	if err := s.instant(ctx); err != nil {
		return err
	}
	if was || !m.critical(s.w.clk.Now()) {
		return nil
	}
	return s.c.reportedCritical(m)
}
