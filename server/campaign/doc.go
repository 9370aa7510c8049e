// Package campaign is statemgr's own hostile-input campaign: it discovers
// every endpoint of a running statemgr from $SRV.INFO, generates request
// bodies from each endpoint's declared request schema (metadata "request"
// and "max_bytes", see server.MetadataRequest) — wrong types, nulls, deep
// nesting, sizes at and past the limits, invalid UTF-8, NUL bytes, huge and
// negative numbers, odd ids, unknown, duplicate and wrong-case fields, far
// and past schedules, hostile platform sources — sends them, and judges
// every reply: a success, or an error of server's catalogue with its code.
// After each batch (one endpoint's cases) the daemon must still answer
// statemgr.hosts.list. Where an accepted BMC reset restarts the daemon
// (Config.ResetRestarts), statemgr.bmc.reset's cases go one at a time and
// Run waits for the daemon to come back after each, counting the restarts.
//
// Generation is deterministic for a seed (Generate is pure); Run does the
// I/O. Memory of the daemon is sampled by the caller, who knows its pid.
package campaign
