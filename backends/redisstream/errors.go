package redisstream

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// transientPrefixes are Redis error replies that can go away by waiting: a
// server loading its data, a failover, a cluster resharding.
var transientPrefixes = []string{"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MOVED", "ASK", "READONLY", "MASTERDOWN", "NOREPLICAS"}

// permanent reports whether err is a Redis error reply that retrying the
// same command cannot heal (OOM at maxmemory, ACL refusals, wrong types,
// a transaction aborted for one of those): a bulk action stops at once and
// says so instead of backing off until its deadline.
func permanent(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) || errors.Is(err, redis.Nil) {
		return false
	}
	msg := re.Error()
	for _, p := range transientPrefixes {
		if strings.HasPrefix(msg, p) {
			return false
		}
	}
	return true
}

// txCause turns a MULTI/EXEC failure into the error of the command that
// made Redis discard it: EXECABORT alone does not say that the server is at
// maxmemory.
func txCause(err error, cmds []redis.Cmder) error {
	if err == nil || !strings.HasPrefix(err.Error(), "EXECABORT") {
		return err
	}
	for _, c := range cmds {
		if cerr := c.Err(); cerr != nil && !strings.HasPrefix(cerr.Error(), "EXECABORT") {
			return fmt.Errorf("%w (the transaction was discarded: %s)", cerr, c.Name())
		}
	}
	return err
}
