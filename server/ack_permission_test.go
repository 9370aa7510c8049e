package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/statemgr/statemgr/server"
	"github.com/statemgr/statemgr/server/client"
	"github.com/statemgr/statemgr/server/servertest"
)

// TestOperatorMayAcknowledge: with users configured, an operator's
// operation.acknowledge reaches the server (here: an unknown operation,
// answered as such) and a viewer's is a permissions violation. Before, the
// subject was in neither role's publish list, so no operator could
// acknowledge a parked operation's alert.
func TestOperatorMayAcknowledge(t *testing.T) {
	env := servertest.Start(t, servertest.Options{Users: users})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	operator := client.New(env.Connect(t, client.UserInfo("otto", "operator-pw")))
	err := operator.Request(ctx, server.SubjectOperationAck, server.OperationRequest{Operation: "op-999999"}, nil)
	if !errors.Is(err, server.ErrUnknownOperation) {
		t.Fatalf("operator's acknowledge of an unknown operation: %v, want %s", err, server.ErrUnknownOperation.Constant)
	}
	onErr, errs := asyncErrors()
	viewer := client.New(env.Connect(t, client.UserInfo("vera", "viewer-pw"), onErr))
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	if err := viewer.Request(short, server.SubjectOperationAck, server.OperationRequest{Operation: "op-999999"}, nil); err == nil {
		t.Fatal("viewer's acknowledge succeeded")
	}
	expectPermissionViolation(t, errs)
}
