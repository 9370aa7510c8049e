// Package eventstest is the contract every events.Log implementation must
// pass. An implementation's tests call Run with a Harness that opens a fresh
// log and reopens one over the same storage.
package eventstest
