package devices

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/statemgr/statemgr/adapters"
	"github.com/statemgr/statemgr/adapters/platform"
)

// ThermalLevel is where a zone's hottest sensor stands against its limits.
type ThermalLevel string

// Thermal levels.
const (
	ThermalNormal      ThermalLevel = "normal"
	ThermalWarning     ThermalLevel = "warning"  // above the zone's warning limit
	ThermalCritical    ThermalLevel = "critical" // above the zone's critical limit
	ThermalUnavailable ThermalLevel = "unavailable"
)

// ThermalEvent reports a zone changing level.
type ThermalEvent struct {
	Zone     string
	Level    ThermalLevel
	Sensor   string  // the hottest sensor read
	Celsius  float64 // its temperature
	Warning  float64 // the zone's limits
	Critical float64
	Time     time.Time
	Err      error // why the zone is unavailable, or a sensor that failed
}

// zoneDev is one thermal zone and its sensors.
type zoneDev struct {
	name    string
	cfg     platform.ThermalZone
	sensors []zoneSensor
	pid     *actor.PID
}

type zoneSensor struct {
	name   string
	sensor adapters.ThermalSensor
}

// Messages of a zone actor.
type (
	zonePoll struct{}
	// zoneMeasure asks for a fresh measure; ctx ends when the asker gives
	// up.
	zoneMeasure struct {
		ctx   context.Context
		reply replyTo[ThermalEvent]
	}
)

// zoneActor polls one zone's sensors and reports changes of its level.
type zoneActor struct {
	h     *Hardware
	d     *zoneDev
	level ThermalLevel // as last reported; "" before the first poll
}

func (a *zoneActor) Receive(ctx actor.Context) {
	m, ok := ctx.Message().(*envelope)
	if !ok {
		return
	}
	defer a.h.track.end(a.d.pid.Id)
	switch msg := m.msg.(type) {
	case zonePoll:
		a.poll()
	case zoneMeasure:
		msg.reply.send(a.h.track, a.measure(msg.ctx))
	}
}

// measure reads every sensor of the zone; the hottest readable one sets
// the level, none readable makes it ThermalUnavailable.
func (a *zoneActor) measure(ctx context.Context) ThermalEvent {
	ev := ThermalEvent{Zone: a.d.name, Warning: a.d.cfg.Warning, Critical: a.d.cfg.Critical, Time: a.h.clk.Now()}
	read := 0
	var errs []error
	for _, s := range a.d.sensors {
		var c float64
		err := a.h.call(ctx, a.d.pid.Id, fmt.Sprintf("sensor %s of zone %s", s.name, a.d.name), "read temperature", func(ctx context.Context) error {
			var err error
			c, err = s.sensor.ReadCelsius(ctx)
			return err
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if read == 0 || c > ev.Celsius {
			ev.Celsius, ev.Sensor = c, s.name
		}
		read++
	}
	ev.Err = errors.Join(errs...)
	switch {
	case read == 0:
		ev.Level = ThermalUnavailable
	case ev.Celsius > a.d.cfg.Critical:
		ev.Level = ThermalCritical
	case ev.Celsius > a.d.cfg.Warning:
		ev.Level = ThermalWarning
	default:
		ev.Level = ThermalNormal
	}
	return ev
}

// poll measures the zone and reports a change of its level.
func (a *zoneActor) poll() {
	ev := a.measure(a.h.ctx)
	if ev.Err != nil && ev.Level != ThermalUnavailable {
		a.h.log.Warn("thermal sensor unreadable", "zone", a.d.name, "error", ev.Err)
	}
	if ev.Level == a.level {
		return
	}
	a.level = ev.Level
	args := []any{"zone", ev.Zone, "level", ev.Level, "sensor", ev.Sensor, "celsius", ev.Celsius, "warning", ev.Warning, "critical", ev.Critical}
	switch ev.Level {
	case ThermalCritical, ThermalUnavailable:
		a.h.log.Error("thermal zone level changed", append(args, "error", ev.Err)...)
	case ThermalWarning:
		a.h.log.Warn("thermal zone level changed", args...)
	default:
		a.h.log.Info("thermal zone level changed", args...)
	}
	if a.h.cfg.OnThermal != nil {
		a.h.cfg.OnThermal(ev)
	}
}
