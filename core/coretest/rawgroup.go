package coretest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// rawAckWait is the held messages' AckWait: long enough that every case
// acts on them while they are still held.
const rawAckWait = 5 * time.Minute

// jetStreamHoldRaw: a durable pull consumer named group on the topic's
// stream, and n messages fetched without ack (as `nats consumer next
// --no-ack` does).
func jetStreamHoldRaw(connect func(testing.TB) *nats.Conn) func(t testing.TB, topic, group string, n int) RawGroup {
	return func(t testing.TB, topic, group string, n int) RawGroup {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), defaultWait)
		defer cancel()
		nc := connect(t)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatalf("jetstream: %v", err)
		}
		stream, err := js.StreamNameBySubject(ctx, topic)
		if err != nil {
			t.Fatalf("raw: stream for %q: %v", topic, err)
		}
		cons, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: group, AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: rawAckWait, DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			t.Fatalf("raw: create consumer %s/%s: %v", stream, group, err)
		}
		held, err := fetchAll(cons, n)
		if err != nil || len(held) != n {
			t.Fatalf("raw: fetch %d from %s/%s: got %d, %v", n, stream, group, len(held), err)
		}
		g := RawGroup{}
		for _, m := range held {
			md, err := m.Metadata()
			if err != nil {
				t.Fatalf("raw: metadata: %v", err)
			}
			g.IDs = append(g.IDs, strconv.FormatUint(md.Sequence.Stream, 10))
		}
		g.State = func(ctx context.Context) (RawState, error) {
			ci, err := cons.Info(ctx)
			if err != nil {
				return RawState{}, err
			}
			return RawState{
				Delivered:   fmt.Sprintf("consumer seq %d, stream seq %d", ci.Delivered.Consumer, ci.Delivered.Stream),
				Pending:     int64(ci.NumAckPending),
				Undelivered: int64(ci.NumPending),
			}, nil
		}
		g.Deliveries = func(ctx context.Context) (map[string]int64, error) {
			ci, err := cons.Info(ctx)
			if err != nil {
				return nil, err
			}
			for _, m := range held {
				// As a request, so the server has queued it for redelivery
				// before the fetch; ignored for one no longer pending.
				if _, err := nc.RequestWithContext(ctx, m.Reply(), []byte("-NAK")); err != nil {
					return nil, fmt.Errorf("nak %s: %w", m.Reply(), err)
				}
			}
			again, err := fetchAll(cons, ci.NumAckPending)
			if err != nil {
				return nil, err
			}
			out := map[string]int64{}
			for _, m := range again {
				md, err := m.Metadata()
				if err != nil {
					return nil, err
				}
				out[strconv.FormatUint(md.Sequence.Stream, 10)] = int64(md.NumDelivered) - 1
			}
			return out, nil
		}
		return g
	}
}

// fetchAll fetches until n messages came or none comes for a while.
func fetchAll(cons jetstream.Consumer, n int) ([]jetstream.Msg, error) {
	var out []jetstream.Msg
	for len(out) < n {
		mb, err := cons.Fetch(n-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return out, err
		}
		got := 0
		for m := range mb.Messages() {
			out = append(out, m)
			got++
		}
		if err := mb.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return out, err
		}
		if got == 0 {
			break
		}
	}
	return out, nil
}

// redisHoldRaw: XGROUP CREATE at 0, and n entries read by consumer "raw"
// with XREADGROUP.
func redisHoldRaw(rdb *redis.Client) func(t testing.TB, topic, group string, n int) RawGroup {
	return func(t testing.TB, topic, group string, n int) RawGroup {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), defaultWait)
		defer cancel()
		if err := rdb.XGroupCreate(ctx, topic, group, "0").Err(); err != nil {
			t.Fatalf("raw: XGROUP CREATE %s %s 0: %v", topic, group, err)
		}
		streams, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "raw", Streams: []string{topic, ">"}, Count: int64(n)}).Result()
		if err != nil || len(streams) != 1 || len(streams[0].Messages) != n {
			t.Fatalf("raw: XREADGROUP %s %s COUNT %d: %v %v", topic, group, n, streams, err)
		}
		g := RawGroup{}
		for _, m := range streams[0].Messages {
			g.IDs = append(g.IDs, m.ID)
		}
		g.State = func(ctx context.Context) (RawState, error) {
			gs, err := rdb.XInfoGroups(ctx, topic).Result()
			if err != nil {
				return RawState{}, err
			}
			for _, gi := range gs {
				if gi.Name == group {
					return RawState{Delivered: fmt.Sprintf("last-delivered-id %s, entries-read %d", gi.LastDeliveredID, gi.EntriesRead),
						Pending: gi.Pending, Undelivered: gi.Lag}, nil
				}
			}
			return RawState{}, fmt.Errorf("XINFO GROUPS %s: no group %s", topic, group)
		}
		g.Deliveries = func(ctx context.Context) (map[string]int64, error) {
			ps, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: topic, Group: group, Start: "-", End: "+", Count: 1000}).Result()
			if err != nil {
				return nil, err
			}
			out := map[string]int64{}
			for _, p := range ps {
				out[p.ID] = p.RetryCount
			}
			return out, nil
		}
		return g
	}
}
