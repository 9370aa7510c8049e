// Package board is the host side of the board harness (issue 14,
// docs/BOARD.md): it boots an emulated ASPEED AST2600 EVB in QEMU on a real
// Debian armhf kernel with statemgrd (cross-built for ARMv7) in its
// initramfs, plays the motherboard on the ASPEED GPIO model's pins through
// QEMU's QMP socket (reads the power button output, drives power good and
// POST complete), sets the PMBus device model's readings, and checks the
// daemon end to end over NATS.
//
// The package holds only tests. They run when STATEMGR_BOARD names the
// directory .ci/board prepared (vmlinuz, ast2600-evb.dtb with the harness's
// gpio-line-names, initramfs.cpio.gz) and skip otherwise, so `go test
// ./...` stays hardware- and QEMU-free.
package board
