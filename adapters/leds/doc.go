// Package leds drives a BMC's indicator LEDs from statemgr's state: per
// host, chassis and the BMC (the platform file's led blocks) a power, a
// fault and an identify LED, each a GPIO line or a Linux leds-class
// device under /sys/class/leds (a PCA955x/PCA9552 output on I2C, a
// leds-gpio line).
//
// Derive is the pure rule from facts to a Pattern (off, on, blinking):
// power is on while powered, blinking while transitioning, off in Off,
// Stopped and Error states; fault is on while the location, or a host of a
// chassis, is in an Error state or has a standing alert; identify blinks
// while identified; a lamp test lights everything.
//
// Controller applies the rule. It hears each component's status only once
// it is durable (protoactor.Config.OnChange, called after the append), so
// no LED shows a transition the log does not hold; one goroutine writes
// the LEDs, so a component never waits on one, and Sync waits for it.
// Every change is logged with its reason; a write that fails is logged
// and retried at the next change, and reported in the View. Identify is
// Redfish's LocationIndicatorActive: turned on, optionally for a
// duration, or off, each recorded in the log's stream "leds" before the
// LED shows it, so an identify survives a restart and a timed one ends on
// the injected clock, recorded as "identify timed out", even when its
// time passed while statemgrd was stopped. A lamp test is not recorded.
//
// Writers: Hardware opens leds-class LEDs (trigger "none" and brightness
// for on and off, the kernel's timer trigger with delay_on/delay_off for
// blinking, which needs ledtrig-timer) and GPIO lines (blinking toggled
// on the clock). Panel is the simulated board's LEDs and the in-memory,
// fault-injecting twin.
package leds
