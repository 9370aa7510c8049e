// Package hwmon is the adapters.PMBus back-end for devices the kernel's
// pmbus hwmon driver owns. Once that driver binds an address, raw SMBus
// access is refused (EBUSY), so, like OpenBMC's phosphor-power, statemgr
// reads what the kernel publishes instead:
//
//   - hwmon sysfs telemetry, found by label: inN_input in millivolts
//     ("vin", "vout1"...), currN_input in milliamperes ("iin", "iout1"...),
//     powerN_input in microwatts ("pin", "pout1"...), temp1_input in
//     millidegrees Celsius;
//   - debugfs status registers, /sys/kernel/debug/pmbus/hwmonN/statusP
//     (STATUS_WORD of page P, "0x%04x") and statusP_vout, statusP_iout,
//     statusP_input, statusP_temp, statusP_cml ("0x%02x"), and the
//     inventory files mfr_id, mfr_model and mfr_serial.
//
// Device maps PMBus commands onto those files so that pmbus.Device works
// over it unchanged: telemetry is re-encoded in the PMBus formats (LINEAR11;
// READ_VOUT in LINEAR16 with the VOUT_MODE this back-end reports, exponent
// -10, so up to 64 V at about 1 mV). PAGE selects which page's files are
// read. Writes the kernel does not expose (OPERATION, CLEAR_FAULTS, any
// word write) fail with adapters.ErrUnsupported: power control of such a
// device belongs to its driver or to a sequencer GPIO.
//
// Contract: both roots are injectable (Find takes the sysfs and debugfs
// mount points) so tests run against a tree in a temporary directory. A
// missing file is adapters.ErrUnsupported; a read the driver fails is
// classified by its errno (ENXIO: ErrNAK...); every error is an
// *adapters.DeviceError naming the device, the operation and the command.
package hwmon
