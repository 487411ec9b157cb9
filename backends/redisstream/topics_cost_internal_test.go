package redisstream

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/redisproc"
)

// privateRedis starts a redis-server of the test's own: INFO stats and ACL
// changes there touch no one else.
func privateRedis(tb testing.TB) (*redis.Options, *redis.Client) {
	tb.Helper()
	srv, err := redisproc.Start(context.Background(), redisproc.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	o, err := redis.ParseURL(srv.URL())
	if err != nil {
		tb.Fatal(err)
	}
	rdb := redis.NewClient(o)
	tb.Cleanup(func() { _ = rdb.Close() })
	return o, rdb
}

func newBackend(tb testing.TB, rdb redis.UniversalClient) *Backend {
	tb.Helper()
	be, err := New(context.Background(), core.Deps{Config: core.Config{Driver: core.DriverRedisStream}, Redis: rdb, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	b := be.(*Backend)
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

func sortedTopics(tb testing.TB, b *Backend) []core.TopicInfo {
	tb.Helper()
	ts, err := b.Topics(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts
}

// TestTopicsSummaryMatchesXInfo: the server-side summary says what XINFO
// STREAM says (ids, counts, extras) for empty, trimmed, deleted-from and
// large streams; where the server refuses scripts (an ACL user without
// @scripting) Topics falls back to XINFO STREAM with the same result.
func TestTopicsSummaryMatchesXInfo(t *testing.T) {
	ctx := context.Background()
	o, rdb := privateRedis(t)
	big := strings.Repeat("x", 1<<20)
	rdb.XGroupCreateMkStream(ctx, "empty", "g", "$")
	for i := 0; i < 3; i++ {
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: "three", Values: []any{"data", strconv.Itoa(i)}})
	}
	rdb.XGroupCreate(ctx, "three", "g1", "0")
	rdb.XGroupCreate(ctx, "three", "g2", "$")
	first := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "deleted", Values: []any{"data", "a"}}).Val()
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: "deleted", Values: []any{"data", "b"}})
	rdb.XDel(ctx, "deleted", first)
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: "big", Values: []any{"data", big}})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: "big", Values: []any{"data", "small"}})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: "big", Values: []any{"data", big}})
	rdb.Set(ctx, "not-a-stream", "x", 0)

	b := newBackend(t, rdb)
	viaScript := sortedTopics(t, b)
	b.noTopicScript.Store(true)
	viaXInfo := sortedTopics(t, b)
	if len(viaScript) != 4 || !reflect.DeepEqual(viaScript, viaXInfo) {
		t.Fatalf("summary and XINFO STREAM differ:\nscript %+v\nxinfo  %+v", viaScript, viaXInfo)
	}
	if d := viaScript[1]; d.Name != "deleted" || d.Messages != 1 || d.Extra["max-deleted-entry-id"] != first {
		t.Errorf("deleted: %+v", d)
	}
	b.noTopicScript.Store(false)
	for _, want := range viaXInfo {
		if got, err := b.Topic(ctx, want.Name); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Topic(%s) = %+v, %v; want %+v", want.Name, got, err, want)
		}
	}
	if _, err := b.Topic(ctx, "missing"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Topic(missing): %v, want ErrNotFound", err)
	}
	b.noTopicScript.Store(true)

	// a user who may not run scripts
	if err := rdb.Do(ctx, "ACL", "SETUSER", "noscript", "on", ">pw", "~*", "+@all", "-@scripting").Err(); err != nil {
		t.Fatal(err)
	}
	o2 := *o
	o2.Username, o2.Password = "noscript", "pw"
	limited := redis.NewClient(&o2)
	defer limited.Close()
	if err := limited.Do(ctx, "SCRIPT", "LOAD", "return 1").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("the ACL user may run scripts: %v", err)
	}
	if got := sortedTopics(t, newBackend(t, limited)); !reflect.DeepEqual(got, viaXInfo) {
		t.Fatalf("without scripts:\n%+v\nwant\n%+v", got, viaXInfo)
	}

	// the script flushed since it was loaded: reloaded, not an error
	rdb.ScriptFlush(ctx)
	b.noTopicScript.Store(false)
	if got := sortedTopics(t, b); !reflect.DeepEqual(got, viaXInfo) {
		t.Fatalf("after SCRIPT FLUSH:\n%+v", got)
	}
}

// infoStats reads total_net_output_bytes and total_commands_processed.
func infoStats(tb testing.TB, rdb *redis.Client) (out, ops int64) {
	tb.Helper()
	s, err := rdb.Info(context.Background(), "stats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(s, "\r\n") {
		k, v, _ := strings.Cut(l, ":")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "total_net_output_bytes":
			out = n
		case "total_commands_processed":
			ops = n
		}
	}
	return out, ops
}

// BenchmarkTopicsCost is what one Topics refresh costs Redis, read from
// INFO stats on a private redis-server, listed with XINFO STREAM (every
// first and last entry travels) and with the server-side summary: 1000
// streams of one small entry plus 10 with 1 MB entries at both ends, and
// 50 000 streams of one small entry.
func BenchmarkTopicsCost(b *testing.B) {
	for _, c := range []struct {
		name       string
		small, big int
	}{{"1010-streams-10-big", 1000, 10}, {"50000-streams", 50000, 0}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			_, rdb := privateRedis(b)
			pipe := rdb.Pipeline()
			for i := 0; i < c.small; i++ {
				pipe.XAdd(ctx, &redis.XAddArgs{Stream: "s:" + strconv.Itoa(i), Values: []any{"data", strings.Repeat("p", 100)}})
			}
			big := strings.Repeat("x", 1<<20)
			for i := 0; i < c.big; i++ {
				for _, v := range []string{big, "mid", big} {
					pipe.XAdd(ctx, &redis.XAddArgs{Stream: "big:" + strconv.Itoa(i), Values: []any{"data", v}})
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			be := newBackend(b, rdb)
			for _, mode := range []string{"xinfo-stream", "summary-script"} {
				b.Run(mode, func(b *testing.B) {
					be.noTopicScript.Store(mode == "xinfo-stream")
					sortedTopics(b, be) // loads the script
					out0, ops0 := infoStats(b, rdb)
					for b.Loop() {
						if ts := sortedTopics(b, be); len(ts) != c.small+c.big {
							b.Fatalf("%d topics", len(ts))
						}
					}
					out1, ops1 := infoStats(b, rdb)
					b.ReportMetric(float64(out1-out0)/float64(b.N), "net-out-B/refresh")
					b.ReportMetric(float64(ops1-ops0-1)/float64(b.N), "redis-ops/refresh")
				})
			}
		})
	}
}
