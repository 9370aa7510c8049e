package devices

import "github.com/statemgr/statemgr/adapters/leds"

// LEDBoard returns where the platform's LEDs are, by the rule of the
// hosts' lines: a simulated board's are on a simulated panel (a new
// leds.Panel), a real board's are the kernel's leds class and the GPIO
// character device, blinking GPIO lines toggling on the Hardware's clock.
func (h *Hardware) LEDBoard() leds.Board {
	if _, allSim := usesSim(h.plat); allSim {
		return leds.NewPanel()
	}
	return leds.Hardware{GPIO: h.gpio, Clock: h.clk}
}
