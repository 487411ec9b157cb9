package cli

import "github.com/mqscope/mqscope/core"

// OpCommands maps every core.Op to the command that performs it (or uses
// it), for `mqscope caps` and so that no operation lacks a command (a test
// checks every entry of core.AllOps resolves to a real command).
var OpCommands = map[core.Op]string{
	core.OpHistory:        "browse",
	core.OpTopics:         "topics",
	core.OpGroups:         "groups",
	core.OpPending:        "pending",
	core.OpBrowse:         "browse",
	core.OpGet:            "get",
	core.OpTail:           "tail",
	core.OpAck:            "ack",
	core.OpNak:            "nak",
	core.OpTerm:           "term",
	core.OpClaim:          "claim",
	core.OpReplay:         "replay",
	core.OpRewind:         "rewind",
	core.OpDeadLetter:     "dlq move",
	core.OpRedrive:        "dlq redrive",
	core.OpDeleteGroup:    "delete group",
	core.OpDeleteConsumer: "delete consumer",
	core.OpPurge:          "purge",
	core.OpDeleteMessages: "delete messages",
	core.OpDedup:          "pub --msg-id",
	core.OpStartPosition:  "tail --from",
	core.OpCreateDLQ:      "dlq move --create",
	core.OpCreateStream:   "pub --create-stream",
}
