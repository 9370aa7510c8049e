// Package tools pins the development tools (go-task) in a module of their
// own, apart from the product's go.mod: a dependency or licence review of
// statemgr does not review a task runner. Run them with
// `go tool -modfile=.tools/go.mod task ...` from the repository root.
package tools
