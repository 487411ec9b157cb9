package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
)

// order is the JSON payload of an order event.
type order struct {
	OrderID  string  `json:"order_id"`
	Event    string  `json:"event"`
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	Items    []item  `json:"items"`
	Region   string  `json:"region"`
	Risk     string  `json:"risk"`
	At       string  `json:"at"`
}

type item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

var (
	events  = []string{"created", "created", "created", "created", "paid", "paid", "paid", "shipped", "shipped", "cancelled"}
	regions = []string{"eu-west", "us-east", "ap-south"}
	hosts   = []string{"web-1", "web-2", "web-3", "api-1", "db-1"}
	metrics = []string{"cpu", "mem", "rps", "latency_ms"}
)

// gen makes order events; safe for one goroutine.
type gen struct {
	rnd *rand.Rand
	seq int
}

func newGen(seed uint64) *gen {
	return &gen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seq: 10000}
}

// next returns the event kind, payload and headers of the next order event.
// Shipping labels are binary (a protobuf-like blob), everything else JSON.
func (g *gen) next() (event string, data []byte, h core.Header) {
	g.seq++
	event = events[g.rnd.IntN(len(events))]
	h = core.Header{}
	h.Set("Trace-Id", fmt.Sprintf("%016x", g.rnd.Uint64()))
	if event == "shipped" && g.rnd.IntN(3) == 0 {
		blob := make([]byte, 24+g.rnd.IntN(40))
		blob[0], blob[1] = 0x08, byte(g.seq&0x7f)
		for i := 2; i < len(blob); i++ {
			blob[i] = byte(g.rnd.UintN(256))
		}
		h.Set("Content-Type", "application/x-protobuf")
		return event, blob, h
	}
	risk := "low"
	switch r := g.rnd.IntN(100); {
	case r < 12:
		risk = "high"
	case r < 35:
		risk = "medium"
	}
	o := order{
		OrderID:  "ord-" + strconv.Itoa(g.seq),
		Event:    event,
		Customer: fmt.Sprintf("cus-%04d", g.rnd.IntN(2000)),
		Amount:   float64(500+g.rnd.IntN(40000)) / 100,
		Currency: []string{"EUR", "USD", "GBP"}[g.rnd.IntN(3)],
		Region:   regions[g.rnd.IntN(len(regions))],
		Risk:     risk,
		At:       time.Now().UTC().Format(time.RFC3339Nano),
	}
	for i := 0; i <= g.rnd.IntN(3); i++ {
		o.Items = append(o.Items, item{SKU: fmt.Sprintf("SKU-%03d", g.rnd.IntN(500)), Qty: 1 + g.rnd.IntN(4)})
	}
	data, _ = json.Marshal(o)
	h.Set("Content-Type", "application/json")
	return event, data, h
}

func (g *gen) telemetry() (subject string, data []byte) {
	r, hst, m := regions[g.rnd.IntN(len(regions))], hosts[g.rnd.IntN(len(hosts))], metrics[g.rnd.IntN(len(metrics))]
	v := g.rnd.Float64() * 100
	data, _ = json.Marshal(map[string]any{"host": hst, "region": r, "metric": m, "value": float64(int(v*10)) / 10, "at": time.Now().UTC().Format(time.RFC3339Nano)})
	return "telemetry." + r + "." + hst + "." + m, data
}

func (g *gen) inventory() (subject string, data []byte) {
	sku := fmt.Sprintf("SKU-%03d", g.rnd.IntN(500))
	data, _ = json.Marshal(map[string]any{"sku": sku, "warehouse": regions[g.rnd.IntN(len(regions))], "on_hand": g.rnd.IntN(1000)})
	return "inventory." + sku, data
}

// fraudCheck is the failing consumer's handler: high-risk and unreadable
// orders fail every time, so they end in the DLQ after the last retry.
func fraudCheck(m core.Message) error {
	var o order
	if err := json.Unmarshal(m.Data(), &o); err != nil {
		return fmt.Errorf("fraud-check: payload is not an order: %w", err)
	}
	if o.Risk == "high" {
		return fmt.Errorf("fraud-check: order %s scored 0.97 (limit 0.90): manual review needed", o.OrderID)
	}
	return nil
}

func healthy(m core.Message) error {
	time.Sleep(time.Millisecond) // a little work
	return nil
}

// retry is the failing consumer's policy: three deliveries, then the DLQ.
var retry = core.RetryPolicy{MaxAttempts: 3, Backoff: 200 * time.Millisecond, MaxBackoff: time.Second}

// startNATS sets up the JetStream streams and consumers, the NATS Core
// firehose, and the traffic loop.
func (d *Demo) startNATS(ctx context.Context) error {
	nc, err := nats.Connect(d.natsURL, nats.Name("mqscope-demo-workload"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("demo: connect to embedded NATS: %w", err)
	}
	d.addCloser(func() error { nc.Close(); return nil })
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("demo: jetstream: %w", err)
	}
	for _, sc := range []jetstream.StreamConfig{
		{Name: StreamOrders, Description: "Order events", Subjects: []string{"orders.created", "orders.paid", "orders.shipped", "orders.cancelled"}, MaxMsgs: 50000, Storage: jetstream.FileStorage},
		{Name: StreamOrdersDLQ, Description: "Dead-lettered orders", Subjects: []string{DLQSubject}, MaxMsgs: 10000, Storage: jetstream.FileStorage},
		{Name: StreamInventory, Description: "Stock levels", Subjects: []string{"inventory.>"}, MaxMsgs: 5000, Storage: jetstream.FileStorage},
	} {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("demo: create stream %s: %w", sc.Name, err)
		}
	}

	jsc, err := core.New(&core.Config{Driver: core.DriverJetStream, Consumer: "demo-worker"},
		core.WithNATSConnector(nc), core.WithLogger(d.logger.With("demo", "jetstream")))
	if err != nil {
		return fmt.Errorf("demo: jetstream client: %w", err)
	}
	d.addCloser(jsc.Close)
	ncc, err := core.New(&core.Config{Driver: core.DriverNATSCore, Consumer: "demo-worker"},
		core.WithNATSConnector(nc), core.WithLogger(d.logger.With("demo", "nats_core")))
	if err != nil {
		return fmt.Errorf("demo: nats core client: %w", err)
	}
	d.addCloser(ncc.Close)

	// History first, so browsing and the groups have something.
	g := newGen(1)
	for i := 0; i < d.opts.Backfill; i++ {
		ev, data, h := g.next()
		h.Set("Event", ev)
		if err := jsc.Publish(ctx, "orders."+ev, data, core.WithHeaders(h)); err != nil {
			return fmt.Errorf("demo: backfill orders.%s: %w", ev, err)
		}
	}
	for i := 0; i < 40; i++ {
		subj, data := g.inventory()
		if err := jsc.Publish(ctx, subj, data); err != nil {
			return fmt.Errorf("demo: backfill %s: %w", subj, err)
		}
	}

	// The stuck consumer: takes StuckPending messages and never acks them.
	cons, err := js.CreateOrUpdateConsumer(ctx, StreamOrders, jetstream.ConsumerConfig{
		Durable: GroupStuck, Description: "stuck on purpose: holds messages, never acks",
		FilterSubject: "orders.paid", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Hour,
		MaxAckPending: StuckPending, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("demo: create stuck consumer %s: %w", GroupStuck, err)
	}
	// Take what is there now; if fewer than StuckPending orders were paid
	// yet, keep taking in the background until it holds them all.
	held := holdMessages(ctx, cons, StuckPending, 2*time.Second)
	d.logger.Info("demo: stuck consumer holds messages", "consumer", GroupStuck, "held", held)
	if held < StuckPending {
		d.goLoop(func() {
			for held < StuckPending && ctx.Err() == nil {
				held += holdMessages(ctx, cons, StuckPending-held, time.Second)
			}
		})
	}

	subs := []struct {
		topic, group string
		h            core.Handler
		opts         []core.SubscribeOption
	}{
		{"orders.created", GroupHealthy, healthy, []core.SubscribeOption{core.WithBatchSize(10)}},
		{"orders.shipped", GroupShipping, healthy, []core.SubscribeOption{core.WithBatchSize(10)}},
		{"orders.created", GroupFailing, fraudCheck, []core.SubscribeOption{core.WithRetry(retry), core.WithDeadLetterTopic(DLQSubject)}},
	}
	for _, s := range subs {
		opts := append([]core.SubscribeOption{core.WithQueueGroup(s.group)}, s.opts...)
		if _, err := jsc.Subscribe(ctx, s.topic, s.h, opts...); err != nil {
			return fmt.Errorf("demo: subscribe %s group %s: %w", s.topic, s.group, err)
		}
	}

	// Steady traffic.
	d.goLoop(func() {
		d.traffic(ctx, g, func(ctx context.Context, topic string, data []byte, h core.Header) error {
			return jsc.Publish(ctx, topic, data, core.WithHeaders(h))
		}, func(ev string) string { return "orders." + ev }, func(s string) string { return s })
	})
	// The NATS Core firehose.
	d.goLoop(func() {
		g := newGen(2)
		t := time.NewTicker(40 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				subj, data := g.telemetry()
				if err := ncc.Publish(ctx, subj, data); err != nil && ctx.Err() == nil {
					d.logger.Debug("demo: telemetry publish failed", "subject", subj, "err", err)
				}
			}
		}
	})
	return nil
}

// holdMessages fetches up to n messages and never acks them.
func holdMessages(ctx context.Context, cons jetstream.Consumer, n int, wait time.Duration) int {
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(wait))
	if err != nil {
		if ctx.Err() == nil {
			time.Sleep(wait)
		}
		return 0
	}
	got := 0
	for range batch.Messages() {
		got++ // held, never acked
	}
	return got
}

// traffic publishes order events at the configured rate (and an inventory
// update every fourth tick) until ctx ends; orderTopic and inventoryTopic
// name where each goes.
func (d *Demo) traffic(ctx context.Context, g *gen, pub func(context.Context, string, []byte, core.Header) error,
	orderTopic func(event string) string, inventoryTopic func(subject string) string) {
	t := time.NewTicker(time.Duration(float64(time.Second) / d.opts.Rate))
	defer t.Stop()
	var failures atomic.Int64
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ev, data, h := g.next()
		topic := orderTopic(ev)
		h.Set("Event", ev)
		if err := pub(ctx, topic, data, h); err != nil && ctx.Err() == nil {
			if failures.Add(1)%50 == 1 {
				d.logger.Warn("demo: publish failed", "topic", topic, "err", err)
			}
		}
		if i%4 == 0 {
			subj, data := g.inventory()
			_ = pub(ctx, inventoryTopic(subj), data, nil)
		}
	}
}

// startRedis seeds the Redis side: the same shapes under the demo prefix.
func (d *Demo) startRedis(ctx context.Context) error {
	ro, err := redis.ParseURL(d.redisURL)
	if err != nil {
		return fmt.Errorf("demo: Redis URL: %w", err)
	}
	ro.ClientName = "mqscope-demo-workload"
	rdb := redis.NewClient(ro)
	d.addCloser(rdb.Close)
	if err := CleanupRedis(ctx, d.redisURL, d.prefix); err != nil {
		return err
	}
	orders, inventory := d.prefix+"orders", d.prefix+"inventory"

	rc, err := core.New(&core.Config{Driver: core.DriverRedisStream, Consumer: "demo-worker"},
		core.WithRedisConnector(rdb), core.WithLogger(d.logger.With("demo", "redis")))
	if err != nil {
		return fmt.Errorf("demo: redis client: %w", err)
	}
	d.addCloser(rc.Close)

	g := newGen(3)
	backfill := d.opts.Backfill * 2 / 3
	for i := 0; i < backfill; i++ {
		ev, data, h := g.next()
		h.Set("Event", ev)
		if err := rc.Publish(ctx, orders, data, core.WithHeaders(h)); err != nil {
			return fmt.Errorf("demo: backfill %s: %w", orders, err)
		}
	}
	for i := 0; i < 30; i++ {
		_, data := g.inventory()
		if err := rc.Publish(ctx, inventory, data); err != nil {
			return fmt.Errorf("demo: backfill %s: %w", inventory, err)
		}
	}

	// The stuck consumer: reads StuckPending entries, never acks, and its
	// entries look 20 minutes old (XCLAIM … IDLE), as a crashed worker's would.
	if err := rdb.XGroupCreateMkStream(ctx, orders, GroupStuck, "0").Err(); err != nil && !isBusyGroup(err) {
		return fmt.Errorf("demo: redis stream %q: create group %s: %w", orders, GroupStuck, err)
	}
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: GroupStuck, Consumer: ConsumerStuck, Streams: []string{orders, ">"}, Count: StuckPending, Block: -1}).Result()
	if err != nil {
		return fmt.Errorf("demo: redis stream %q: xreadgroup as %s: %w", orders, ConsumerStuck, err)
	}
	var ids []any
	for _, s := range res {
		for _, m := range s.Messages {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) > 0 {
		args := append([]any{"XCLAIM", orders, GroupStuck, ConsumerStuck, 0}, ids...)
		args = append(args, "IDLE", (20 * time.Minute).Milliseconds(), "JUSTID")
		if err := rdb.Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("demo: redis stream %q: xclaim idle: %w", orders, err)
		}
	}

	subs := []struct {
		group string
		h     core.Handler
		opts  []core.SubscribeOption
	}{
		{GroupHealthy, healthy, []core.SubscribeOption{core.WithBatchSize(10)}},
		{GroupFailing, fraudCheck, []core.SubscribeOption{core.WithRetry(retry), core.WithDeadLetter(), core.WithClaimIdle(time.Second)}},
	}
	for _, s := range subs {
		opts := append([]core.SubscribeOption{core.WithQueueGroup(s.group)}, s.opts...)
		if _, err := rc.Subscribe(ctx, orders, s.h, opts...); err != nil {
			return fmt.Errorf("demo: subscribe %s group %s: %w", orders, s.group, err)
		}
	}

	d.goLoop(func() {
		d.traffic(ctx, g, func(ctx context.Context, topic string, data []byte, h core.Header) error {
			return rc.Publish(ctx, topic, data, core.WithHeaders(h))
		}, func(string) string { return orders }, func(string) string { return inventory })
	})
	// Keep the streams bounded.
	d.goLoop(func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, k := range []string{orders, inventory, core.DLQName(orders, core.DefaultDLQSuffix)} {
					_ = rdb.XTrimMaxLenApprox(ctx, k, 20000, 0).Err()
				}
			}
		}
	})
	return nil
}

func isBusyGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP")
}

// globEscape escapes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CleanupRedis deletes every key under prefix (SCAN, never KEYS).
func CleanupRedis(ctx context.Context, url, prefix string) error {
	if prefix == "" {
		return errors.New("demo: refusing to clean up Redis with an empty prefix")
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("demo: Redis URL: %w", err)
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	var mu sync.Mutex
	var errs []error
	iter := rdb.Scan(ctx, 0, globEscape(prefix)+"*", 500).Iterator()
	var batch []string
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		batch = batch[:0]
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) >= 200 {
			flush()
		}
	}
	flush()
	if err := iter.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("demo: clean up Redis keys %s*: %w", prefix, errors.Join(errs...))
	}
	return nil
}
