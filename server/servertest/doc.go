// Package servertest starts a complete statemgr server for tests: an
// embedded NATS server on a free loopback port, the platform's components
// on a protoactor.System over an in-memory (or given) log, and the NATS
// service. Hardware is not simulated: tests drive observations with
// Env.Observe.
package servertest
