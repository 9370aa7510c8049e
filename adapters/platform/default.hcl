# The built-in platform: one chassis with two simulated PSUs, two hosts, the
# BMC and two thermal zones. It is also the reference example of the format;
# copy it as the start of a board's own file.

# Power-control timings shared by every host. Durations are strings.
timeouts {
  power_pulse               = "200ms" # power button press
  force_off_hold            = "4s"    # power button hold that forces off (at most 15s)
  reset_pulse               = "500ms" # reset button press
  power_good_timeout        = "8s"    # wait for power good after a press
  graceful_shutdown_timeout = "300s"  # wait for the OS to power off
}

# How often statemgrd reads what raises no event (PMBus STATUS_WORD of every
# PSU, the sensors of every thermal zone); 100ms..1m, default 1s each. Every
# poll wakes the daemon: use the longest the board's hardware allows.
polls {
  psu     = "5s"
  thermal = "2s"
}

# The BMC. reset says how statemgrd carries out statemgr.bmc.reset: "none"
# (the default: the request is refused) or "restart-daemon", the simulated
# BMC's reboot: statemgrd stops and starts again as a BMC reboot would make
# it, and recovers from its log as after a boot.
bmc "0" {
  reset = "restart-daemon"
  led "power" {
    sysfs = "bmc:green:heartbeat"
  }
}

chassis "0" {
  # PMBus power supplies. backend is smbus (/dev/i2c-N), hwmon (the kernel
  # pmbus driver owns the device) or sim. Add page = N for paged devices.
  psu "psu0" {
    bus     = 7
    address = "0x58"
    backend = "sim"
  }
  psu "psu1" {
    bus     = 7
    address = "0x59"
    backend = "sim"
  }
  # Power-on order; power-off runs in reverse.
  sequence = ["psu0", "psu1"]
  # LEDs: one per kind (power, fault, identify), each a GPIO line (line,
  # polarity) or a kernel leds-class device under /sys/class/leds (sysfs),
  # such as a PCA9552 output. A chassis's fault LED also covers its hosts.
  led "fault" {
    sysfs = "pca9552:amber:chassis-fault"
  }
  led "identify" {
    sysfs = "pca9552:blue:chassis-identify"
  }
}

# Host 0 uses the x86-power-control line names; other hosts add "_<id>".
# Roles: power_out, reset_out, nmi_out (outputs); power_good, post_complete,
# power_button, reset_button, nmi_button, id_button (inputs).
# power_out, reset_out and power_good are required.
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
  gpio "nmi_out" {
    line     = "NMI_OUT"
    polarity = "active-high"
  }
  gpio "power_good" {
    line     = "PS_PWROK"
    polarity = "active-high"
  }
  gpio "post_complete" {
    line     = "POST_COMPLETE"
    polarity = "active-low"
  }
  gpio "power_button" {
    line     = "POWER_BUTTON"
    polarity = "active-low"
  }
  led "power" {
    line     = "LED_POWER"
    polarity = "active-high"
  }
  led "fault" {
    sysfs = "pca9552:amber:fault-0"
  }
  led "identify" {
    sysfs = "pca9552:blue:identify-0"
  }
}

host "1" {
  chassis = "0"
  gpio "power_out" {
    line     = "POWER_OUT_1"
    polarity = "active-low"
  }
  gpio "reset_out" {
    line     = "RESET_OUT_1"
    polarity = "active-low"
  }
  gpio "nmi_out" {
    line     = "NMI_OUT_1"
    polarity = "active-high"
  }
  gpio "power_good" {
    line     = "PS_PWROK_1"
    polarity = "active-high"
  }
  gpio "post_complete" {
    line     = "POST_COMPLETE_1"
    polarity = "active-low"
  }
  gpio "power_button" {
    line     = "POWER_BUTTON_1"
    polarity = "active-low"
  }
  led "power" {
    line     = "LED_POWER_1"
    polarity = "active-high"
  }
  led "fault" {
    sysfs = "pca9552:amber:fault-1"
  }
  led "identify" {
    sysfs = "pca9552:blue:identify-1"
  }
}

# Limits are in degrees Celsius. A sensor's backend is sim, hwmon (path =
# the hwmon directory, index = N of tempN_input) or psu (psu = its name).
thermal_zone "zone0" {
  warning  = 75
  critical = 90
  sensor "zone0" {
    backend = "sim"
  }
}

thermal_zone "zone1" {
  warning  = 75
  critical = 90
  sensor "zone1" {
    backend = "sim"
  }
}

# A supervised service. "statemgrd" as the command means the daemon's own
# binary, which carries a small demo service ("statemgrd demo-service"), so
# a fresh checkout supervises a real process with nothing else built.
service "demo" {
  command      = "statemgrd"
  args         = ["demo-service", "--ready-after", "200ms"]
  stop_timeout = "10s"
  restart {
    policy    = "on-failure"
    delay     = "1s"
    max_delay = "30s"
  }
  start_limit {
    count    = 5
    interval = "1m"
  }
}
