// Package client talks to a statemgr server over NATS: typed requests that
// turn micro error headers into *server.Error values, and Tail, which
// follows the event stream with no gap and no duplicate where replayed
// history meets live events.
//
// Tail's algorithm: subscribe to the live per-component subjects first and
// buffer; page history with statemgr.log.replay up to the log's head;
// then take live events in order, dropping seqs already delivered and, on a
// gap (a seq past the next expected one, e.g. a message lost by core NATS),
// paging the log again from the next expected seq. Messages the NATS client
// dropped for a slow reader, or lost while disconnected, are found the same
// way: Tail pages the log when the subscription's drop count grows and
// every few seconds.
//
// ListAll, StatusAll and ValidateAll follow a paged reply's "more"/"next"
// cursor to the end (docs/API.md, Paging), as Tail does for the log.
package client
