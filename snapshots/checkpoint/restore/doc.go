// Package restore replaces a daemon's event log with a checkpoint. Verify
// checks the checkpoint's platform against the one in force, then the
// checkpoint whole against its manifest, and writes nothing: a running
// daemon calls it before it stops. Apply (the daemon stopped) copies the
// checkpoint, checking it again, into events/badger's Restore: staged
// beside the old log, a durable commit file, a directory swap, so that a
// crash at any point leaves the old log or the new one, never a mix
// (TestRestoreKill9). FromStore is both.
//
// It is a package of its own so that snapshots/checkpoint, whose types the
// API and the CLI use, does not link the log's database.
package restore
