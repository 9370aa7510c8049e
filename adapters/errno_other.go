//go:build !linux

package adapters

import "syscall"

// errnoSentinel classifies nothing off Linux: the hardware back-ends are
// Linux-only, and other systems' errno numbering differs.
func errnoSentinel(syscall.Errno, error) error { return nil }
