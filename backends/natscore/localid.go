package natscore

import "github.com/nats-io/nuid"

// localID is a process-local unique id for a message without Nats-Msg-Id.
func localID() string { return nuid.Next() }
