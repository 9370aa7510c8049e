
# Appended by .ci/board to ast2600-evb.hcl for the "absent PSU at boot"
# check (/etc/platform-absent-psu.hcl): a second chassis whose PSU is at
# an address of I2C bus 3 where no device answers (QEMU adds no model
# there), as a board whose PSU is pulled, unpowered or misaddressed.
chassis "1" {
  psu "psu1" {
    bus     = 3
    address = "0x11"
    backend = "smbus"
  }
}
