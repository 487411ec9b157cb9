package natscore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/natsembed"
)

// NATS Core through core: a queue-group worker whose failures are retried
// locally and then dead-lettered to "<topic>.dlq" with origin headers. (An
// application would connect to its own server; the example embeds one.)
func Example() {
	dir, err := os.MkdirTemp("", "natscore-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	srv, err := natsembed.Start(natsembed.Options{StoreDir: dir})
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close() // the connection is ours: q.Close leaves it open

	ctx := context.Background()
	q, err := core.New(&core.Config{Driver: core.DriverNATSCore}, core.WithNATSConnector(nc))
	if err != nil {
		panic(err)
	}
	defer q.Close()

	ok, why := q.Operator().Capabilities(ctx).Can(core.OpHistory)
	fmt.Printf("history supported: %v (%s)\n", ok, why)

	dead := make(chan core.Message, 1)
	if _, err := q.Subscribe(ctx, "orders.created.dlq", func(m core.Message) error { dead <- m; return nil }); err != nil {
		panic(err)
	}
	_, err = q.Subscribe(ctx, "orders.created", func(m core.Message) error {
		fmt.Printf("delivery %d of %s\n", m.Deliveries(), m.Data())
		return errors.New("payment declined")
	},
		core.WithQueueGroup("order-processor"),
		core.WithRetry(core.RetryPolicy{MaxAttempts: 3, Backoff: 10 * time.Millisecond}),
		core.WithDeadLetter())
	if err != nil {
		panic(err)
	}

	if err := q.Publish(ctx, "orders.created", []byte(`{"id": "1001"}`)); err != nil {
		panic(err)
	}
	select {
	case m := <-dead:
		h := m.Header()
		fmt.Printf("dead-lettered %s from %s after %s deliveries: %s\n",
			m.Data(), h.Get(core.HeaderOriginTopic), h.Get(core.HeaderDeliveries), h.Get(core.HeaderLastError))
	case <-time.After(10 * time.Second):
		fmt.Println("timed out")
	}
	// Output:
	// history supported: false (NATS Core keeps no history: messages go to current subscribers and are not stored)
	// delivery 1 of {"id": "1001"}
	// delivery 2 of {"id": "1001"}
	// delivery 3 of {"id": "1001"}
	// dead-lettered {"id": "1001"} from orders.created after 3 deliveries: payment declined
}
