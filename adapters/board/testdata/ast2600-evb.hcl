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
    # The ADM1272 sends its readings in DIRECT (datasheet table 8): VIN and
    # VOUT in the 100 V range, IOUT in the 30 mV range with m = 663 per mΩ
    # of sense resistor, here QEMU's 300 µΩ (663 × 0.3, truncated as the
    # model does). QEMU's model sets no temperature, so none is given.
    direct "vin" {
      m = 4062
      b = 0
      r = -2
    }
    direct "vout" {
      m = 4062
      b = 0
      r = -2
    }
    direct "iout" {
      m = 198
      b = 20480
      r = -1
    }
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
