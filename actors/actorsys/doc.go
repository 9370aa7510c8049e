// Package actorsys is statemgr's protoactor-go runtime, with no component
// or policy in it: how an actor system is made and how a supervisor and
// its children are started. Both the component shell (actors/protoactor)
// and the device actors (adapters/devices) use it, so the hardware layer
// needs nothing of the component shell to run its actors.
//
// Contract:
//
//   - NewActorSystem is the only way statemgr makes a protoactor actor
//     system: it logs through hclog (NewSlogLogger) and works around the
//     library's 32-bit registry bug (ids hashed to a negative bucket index
//     on GOARCH=arm).
//   - Every actor logs its panics with their stacks (LogPanics), and
//     StartSupervised starts a supervisor and its children, returning once
//     each has handled Started, or a *StartError naming the actor that
//     panicked (ErrActorPanicked) or did not start within its timeout
//     (ErrStartTimeout): a start never hangs silently.
package actorsys
