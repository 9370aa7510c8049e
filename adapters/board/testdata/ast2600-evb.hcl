# The emulated AST2600 EVB of the board harness (docs/BOARD.md): one chassis
# with a PMBus hot-swap controller (QEMU's adm1272 model) on the ASPEED I2C
# bus 3, one host on the ASPEED GPIO controller. .ci/board names the lines
# in the device tree (gpio-line-names): B0 POWER_OUT, B1 RESET_OUT,
# B2 PS_PWROK, B3 POST_COMPLETE (A0-A7 are muxed to MDIO and I2C on the EVB). The host side of the harness plays the
# motherboard on those pins through QEMU's QMP socket.

timeouts {
  power_pulse               = "200ms"
  force_off_hold            = "4s"
  reset_pulse               = "500ms"
  power_good_timeout        = "8s"
  graceful_shutdown_timeout = "20s"
}

chassis "0" {
  psu "psu0" {
    bus     = 3
    address = "0x10"
    backend = "smbus"
  }
  sequence = ["psu0"]
}

host "0" {
  chassis = "0"
  gpio "power_out" {
    line     = "POWER_OUT"
    polarity = "active-low"
  }
  gpio "reset_out" {
    line     = "RESET_OUT"
    polarity = "active-low"
  }
  gpio "power_good" {
    line     = "PS_PWROK"
    polarity = "active-high"
  }
  gpio "post_complete" {
    line     = "POST_COMPLETE"
    polarity = "active-low"
  }
}
