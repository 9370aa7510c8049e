package main

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"github.com/statemgr/statemgr/actors/clock"
	"github.com/statemgr/statemgr/actors/protoactor"
	"github.com/statemgr/statemgr/adapters/devices"
	"github.com/statemgr/statemgr/adapters/leds"
	"github.com/statemgr/statemgr/adapters/platform"
	"github.com/statemgr/statemgr/events"
)

// startLEDs opens the platform's LEDs on the devices' board and returns
// the controller and the components' OnChange that drives it.
func startLEDs(ctx context.Context, plat *platform.Platform, hw *devices.Hardware, log events.Log, logger hclog.Logger) (*leds.Controller, func(protoactor.Change), error) {
	ctl, err := leds.New(ctx, leds.Config{Locations: plat.LEDLocations(), Board: hw.LEDBoard(), Log: log, Clock: clock.Real{}, Logger: logger.Named("leds")})
	if err != nil {
		return nil, nil, err
	}
	return ctl, func(ch protoactor.Change) { ctl.Observe(ch.ID, ch.Status.State, ch.Kind, ch.Alerts) }, nil
}
