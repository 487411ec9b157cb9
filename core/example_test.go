package core_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	_ "github.com/mqscope/mqscope/backends" // registers the drivers, like database/sql
	"github.com/mqscope/mqscope/core"
)

// exampleRedis connects to the Redis the tests use (MQSCOPE_TEST_REDIS_URL,
// else 127.0.0.1:6379). An application would build its client from config.
func exampleRedis() *redis.Client {
	url := os.Getenv("MQSCOPE_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		panic(err)
	}
	return redis.NewClient(opts)
}

// exampleName makes stream names unique per run, so examples never see each
// other's messages.
func exampleName(base string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return base + "." + hex.EncodeToString(b[:])
}

// The design's section 5: a Redis Streams MQ, a producer publishing orders,
// and a consumer group of three workers.
func ExampleNew() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()

	// 1. The Redis connection belongs to the application: q.Close leaves it open.
	rdb := exampleRedis()
	defer rdb.Close()

	// 2. The MQ, with the Redis connection injected.
	q, err := core.New(&core.Config{
		Driver: core.DriverRedisStream,
	}, core.WithRedisConnector(rdb), core.WithLogger(logger))
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	defer q.Close()

	topic := exampleName("orders.created")     // "orders.created" in an application
	defer rdb.Del(context.Background(), topic) // after q.Close (defers run last-in first-out)
	defer q.Close()

	// Producer: publish orders.
	for _, id := range []string{"1001", "1002", "1003"} {
		orderData := []byte(`{"id": "` + id + `", "amount": 99.0}`)
		if err := q.Publish(ctx, topic, orderData); err != nil {
			logger.Error("failed to publish order", "err", err)
			return
		}
	}
	fmt.Println("published 3 orders")

	// Consumers: three workers in the group "order-processor". A new group
	// starts at the stream's first entry, so they get the orders published
	// above; each order goes to exactly one of them.
	var (
		mu        sync.Mutex
		processed = map[string]int{}
		all       = make(chan struct{})
		wg        sync.WaitGroup
	)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			_, err := q.Subscribe(ctx, topic, func(msg core.Message) error {
				logger.Info("processing order", "worker", id, "data", string(msg.Data()))
				mu.Lock()
				processed[string(msg.Data())]++
				if len(processed) == 3 {
					close(all)
				}
				mu.Unlock()
				return nil // auto-ack
			},
				core.WithQueueGroup("order-processor"), // the consumer group
				core.WithBatchSize(10))                 // up to 10 entries per XREADGROUP
			if err != nil {
				logger.Error("subscribe failed", "err", err)
			}
		}(i)
	}
	wg.Wait()

	select {
	case <-all:
	case <-time.After(20 * time.Second):
		fmt.Println("timed out waiting for the workers")
		return
	}
	mu.Lock()
	orders := make([]string, 0, len(processed))
	for data, n := range processed {
		orders = append(orders, fmt.Sprintf("%s processed %d time(s)", data, n))
	}
	mu.Unlock()
	sort.Strings(orders)
	for _, o := range orders {
		fmt.Println(o)
	}
	// Output:
	// published 3 orders
	// {"id": "1001", "amount": 99.0} processed 1 time(s)
	// {"id": "1002", "amount": 99.0} processed 1 time(s)
	// {"id": "1003", "amount": 99.0} processed 1 time(s)
}

// The design's section 4.3: with manual acks a message counts as done only
// when the handler acks it (XACK on Redis); returning an error leaves it
// pending and it is delivered again.
func ExampleWithManualAck() {
	ctx := context.Background()
	rdb := exampleRedis()
	defer rdb.Close()
	q, err := core.New(&core.Config{Driver: core.DriverRedisStream}, core.WithRedisConnector(rdb))
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	defer q.Close()
	topic := exampleName("orders")
	defer rdb.Del(context.Background(), topic)
	defer q.Close()

	busy := true // the first attempt finds the inventory service busy
	process := func(msg core.Message) error {
		if busy {
			busy = false
			return errors.New("inventory service busy")
		}
		return nil
	}
	done := make(chan struct{})
	_, err = q.Subscribe(ctx, topic, func(msg core.Message) error {
		if err := process(msg); err != nil {
			fmt.Printf("delivery %d of %s failed: %v\n", msg.Deliveries(), msg.Data(), err)
			return err // not acked: delivered again
		}
		fmt.Printf("delivery %d of %s processed, acking\n", msg.Deliveries(), msg.Data())
		defer close(done)
		return msg.Ack() // explicit confirmation
	}, core.WithManualAck(), core.WithQueueGroup("billing"))
	if err != nil {
		fmt.Println("subscribe:", err)
		return
	}
	if err := q.Publish(ctx, topic, []byte("order 1001")); err != nil {
		fmt.Println("publish:", err)
		return
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		fmt.Println("timed out")
		return
	}
	// Output:
	// delivery 1 of order 1001 failed: inventory service busy
	// delivery 2 of order 1001 processed, acking
}
