// Package kerneltest serves the tests that run against real kernel drivers
// (i2c-stub with i2c-dev, gpio-sim): it says precisely why such a test
// cannot run here, and turns that skip into a failure when the test
// binary runs with -kernel.require, as on a board or an emulated one
// where the driver must be there.
package kerneltest
