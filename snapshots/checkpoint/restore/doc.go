// Package restore replaces a stopped daemon's event log with a checkpoint
// (restore.FromStore). Before anything is written it checks the checkpoint
// whole against its manifest and its platform against the one in force;
// the swap is events/badger's Restore: staged beside the old log, a
// durable commit file, a directory swap, so that a crash at any point
// leaves the old log or the new one, never a mix (TestRestoreKill9).
//
// It is a package of its own so that snapshots/checkpoint, whose types the
// API and the CLI use, does not link the log's database.
package restore
