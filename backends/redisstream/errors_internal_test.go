package redisstream

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/internal/redisproc"
)

func TestPermanentErrors(t *testing.T) {
	ctx := context.Background()
	srv, err := redisproc.Start(ctx, redisproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	o, _ := redis.ParseURL(srv.URL())
	rdb := redis.NewClient(o)
	defer rdb.Close()
	rdb.Set(ctx, "str", "x", 0)
	wrongType := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "str", Values: []any{"k", "v"}}).Err()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{wrongType, true},
		{redis.Nil, false},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("wrapped: %w", wrongType), true},
	} {
		if got := permanent(tc.err); got != tc.want {
			t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
