// Package gpiocdev implements adapters.GPIO on the Linux GPIO character
// device (/dev/gpiochipN) through uAPI v2, using
// github.com/warthog618/go-gpiocdev.
//
// Lines are found by name across every chip, as the device tree's
// gpio-line-names give them (POWER_OUT, PS_PWROK...), or, for a board
// whose device tree names none, by the chip (its name "gpiochip0", path
// or label "1e780000.gpio") and offset of adapters.LineConfig; an
// unknown chip is adapters.ErrNoDevice listing the chips, an offset past
// the chip's lines adapters.ErrNoLine. Polarity is handed to the kernel
// as the active-low flag, so values and edges are logical: 1 and a rising
// edge mean asserted whatever the wiring. Inputs with a callback watch both
// edges; the library's watcher goroutine calls the callback in order, with
// the time taken from the injected clock.
//
// Contract: Pulse waits on the injected clock (never time.Sleep), and
// deasserts the line before returning even when its context ends first.
// Errors are *adapters.DeviceError naming the line; a line another process
// holds (EBUSY) is adapters.ErrLineBusy and the message names that consumer
// when the kernel reports one; a line the kernel refuses (EINVAL: on a BMC
// SoC, a pin muxed to another function) is adapters.ErrLineRefused; a name
// no chip has is adapters.ErrNoLine.
// Kernels before 5.10 (no uAPI v2) are not supported.
package gpiocdev
