package jetstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	jsb "github.com/mqscope/mqscope/backends/jetstream"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// stored is one message as the stream keeps it, read with the raw
// STREAM.MSG.GET API (which returns the stored headers exactly).
type stored struct {
	Seq     uint64
	Subject string
	Data    string
	Header  nats.Header
}

func rawStored(t *testing.T, nc *nats.Conn, stream string, first, last uint64) []stored {
	t.Helper()
	var out []stored
	for seq := first; seq <= last; seq++ {
		m, err := nc.Request("$JS.API.STREAM.MSG.GET."+stream, fmt.Appendf(nil, `{"seq":%d}`, seq), 5*time.Second)
		if err != nil {
			t.Fatalf("raw get %s %d: %v", stream, seq, err)
		}
		var resp struct {
			Error *struct {
				ErrCode int `json:"err_code"`
			}
			Message *struct {
				Subject string
				Seq     uint64
				Hdrs    []byte
				Data    []byte
			}
		}
		if err := json.Unmarshal(m.Data, &resp); err != nil {
			t.Fatalf("raw get %s %d: %v", stream, seq, err)
		}
		if resp.Error != nil {
			if resp.Error.ErrCode == 10037 { // deleted: a gap
				continue
			}
			t.Fatalf("raw get %s %d: error %d", stream, seq, resp.Error.ErrCode)
		}
		s := stored{Seq: resp.Message.Seq, Subject: resp.Message.Subject, Data: string(resp.Message.Data)}
		if len(resp.Message.Hdrs) > 0 {
			if s.Header, err = nats.DecodeHeadersMsg(resp.Message.Hdrs); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, s)
	}
	return out
}

func asStored(recs []core.Record) []stored {
	out := make([]stored, 0, len(recs))
	for _, r := range recs {
		var h nats.Header
		if len(r.Header) > 0 {
			h = nats.Header(r.Header)
		}
		out = append(out, stored{Seq: r.Seq, Subject: r.Subject, Data: string(r.Data), Header: h})
	}
	return out
}

// browseAll pages through q until the backend says there is no more.
func browseAll(t *testing.T, op *core.Operator, q core.BrowseQuery) []core.Record {
	t.Helper()
	var all []core.Record
	for i := 0; ; i++ {
		p, err := op.Browse(context.Background(), q)
		if err != nil {
			t.Fatalf("browse %+v: %v", q, err)
		}
		all = append(all, p.Records...)
		if !p.More {
			return all
		}
		if i > 1000 {
			t.Fatalf("browse %+v: no end after %d pages", q, i)
		}
		q.From = p.Next
	}
}

func sameStored(t *testing.T, what string, got, want []stored) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, the stream has %d", what, len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: message %d is %+v, the stream has %+v", what, i, got[i], want[i])
		}
	}
}

// TestBrowsePlansReadWhatTheStreamStores reads streams with each way a
// forward page can be read (batched direct get, ordered consumer, gets) and
// checks every page against the raw stream: forward in long and short
// pages, reverse, a subject filter, across a gap of deleted messages, with
// stored headers (one named like a direct get's own) kept exactly; and that
// nothing is left behind or consumed.
func TestBrowsePlansReadWhatTheStreamStores(t *testing.T) {
	t.Parallel()
	nc, js, op := browseEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, plan string
		cfg        jetstream.StreamConfig
	}{
		{"limits-direct", "direct-batch", jetstream.StreamConfig{AllowDirect: true}},
		{"limits", "ordered-consumer", jetstream.StreamConfig{}},
		{"workqueue", "gets", jetstream.StreamConfig{Retention: jetstream.WorkQueuePolicy}},
		{"workqueue-direct", "direct-batch", jetstream.StreamConfig{Retention: jetstream.WorkQueuePolicy, AllowDirect: true}},
		{"interest", "gets", jetstream.StreamConfig{Retention: jetstream.InterestPolicy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const long = 250
			if got := jsb.BrowsePlanForTest(nc, tc.cfg, long); got != tc.plan {
				t.Fatalf("plan for %d-record pages: %s, want %s", long, got, tc.plan)
			}
			name := testbroker.Name(t, "browse")
			cfg := tc.cfg
			cfg.Name, cfg.Subjects, cfg.Storage = name, []string{name + ".>"}, jetstream.FileStorage
			s, err := js.CreateStream(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
			if tc.cfg.Retention == jetstream.InterestPolicy {
				// An interest stream keeps only what a consumer has yet to ack.
				if _, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "keep", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
					t.Fatal(err)
				}
			}
			for i := 1; i <= 700; i++ {
				m := nats.NewMsg(fmt.Sprintf("%s.%c", name, "ab"[i%2]))
				m.Data = fmt.Appendf(nil, "m%d", i)
				if i%7 == 0 {
					m.Header.Add("Trace", fmt.Sprint(i))
					m.Header.Add("Trace", "twice")
					m.Header.Set("Nats-Sequence", "99999") // as a copy made from a direct get carries
				}
				if _, err := js.PublishMsg(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			for _, seq := range []uint64{1, 10, 11, 12, 13, 300, 501} {
				if err := s.DeleteMsg(ctx, seq); err != nil {
					t.Fatalf("delete %d: %v", seq, err)
				}
			}
			want := rawStored(t, nc, name, 1, 700)
			if len(want) != 693 {
				t.Fatalf("the raw stream has %d messages, want 693", len(want))
			}
			var wantB []stored
			for _, m := range want {
				if strings.HasSuffix(m.Subject, ".b") {
					wantB = append(wantB, m)
				}
			}
			reversed := slices.Clone(want)
			slices.Reverse(reversed)

			sameStored(t, "forward, pages of 250", asStored(browseAll(t, op, core.BrowseQuery{Topic: name, From: core.StartAll(), Limit: long})), want)
			sameStored(t, "forward, pages of 50", asStored(browseAll(t, op, core.BrowseQuery{Topic: name, From: core.StartAll(), Limit: 50})), want)
			sameStored(t, "subject filter, pages of 250", asStored(browseAll(t, op, core.BrowseQuery{Topic: name, Subject: name + ".b", From: core.StartAll(), Limit: long})), wantB)
			reversedB := slices.Clone(wantB)
			slices.Reverse(reversedB)
			sameStored(t, "reverse with a subject filter, pages of 60", asStored(browseAll(t, op, core.BrowseQuery{Topic: name, Subject: name + ".b", Reverse: true, From: core.StartAll(), Limit: 60})), reversedB)
			sameStored(t, "reverse, pages of 250", asStored(browseAll(t, op, core.BrowseQuery{Topic: name, Reverse: true, From: core.StartAll(), Limit: long})), reversed)
			// From inside the gap: the first page starts after it.
			sameStored(t, "forward from 10", asStored(browseAll(t, op, core.BrowseQuery{Topic: name, From: core.AtSequence(10), Limit: long})), want[8:])
			p, err := op.Browse(ctx, core.BrowseQuery{Topic: name, From: core.AtSequence(650), Limit: long})
			if err != nil || p.More || len(p.Records) != 51 {
				t.Fatalf("last page from 650: %d records, more %v, %v; want 51 (650…700) and no more", len(p.Records), p.More, err)
			}

			// Watching changed nothing: no consumer left (but the interest
			// stream's own), every message still stored.
			names := consumerNames(t, s)
			if tc.cfg.Retention == jetstream.InterestPolicy {
				names = slices.DeleteFunc(names, func(n string) bool { return n == "keep" })
			}
			if len(names) != 0 {
				t.Fatalf("consumers left after browsing: %v", names)
			}
			if again := rawStored(t, nc, name, 1, 700); len(again) != len(want) {
				t.Fatalf("after browsing the stream has %d messages, had %d", len(again), len(want))
			}
		})
	}
}

// browseEnv is an embedded server with a raw connection and an operator.
func browseEnv(t *testing.T) (*nats.Conn, jetstream.JetStream, *core.Operator) {
	n := testbroker.StartNATS(t)
	nc, js := rawJS(t, n)
	return nc, js, newClient(t, n, core.Config{}).Operator()
}

func consumerNames(t *testing.T, s jetstream.Stream) []string {
	t.Helper()
	var names []string
	l := s.ConsumerNames(context.Background())
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestBrowseCursorBetweenPages: a page's reader waits for the next page;
// messages stored meanwhile are read by it (the page past the first's end
// is not lost), and a reader nobody resumes is closed: its ordered
// consumer deleted.
func TestBrowseCursorBetweenPages(t *testing.T) {
	t.Parallel()
	nc, js, op := browseEnv(t)
	ctx := context.Background()
	for _, direct := range []bool{true, false} {
		t.Run(fmt.Sprintf("allow-direct-%v", direct), func(t *testing.T) {
			t.Parallel()
			name := testbroker.Name(t, "cursor")
			s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name}, AllowDirect: direct})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
			publish := func(from, to int) {
				for i := from; i <= to; i++ {
					if _, err := js.Publish(ctx, name, fmt.Appendf(nil, "m%d", i)); err != nil {
						t.Fatal(err)
					}
				}
			}
			publish(1, 500)
			p, err := op.Browse(ctx, core.BrowseQuery{Topic: name, From: core.StartAll(), Limit: 300})
			if err != nil || len(p.Records) != 300 || !p.More {
				t.Fatalf("first page: %d records, more %v, %v", len(p.Records), p.More, err)
			}
			publish(501, 700)
			var got []core.Record
			got = append(got, p.Records...)
			got = append(got, browseAll(t, op, core.BrowseQuery{Topic: name, From: p.Next, Limit: 300})...)
			sameStored(t, "pages with messages stored between them", asStored(got), rawStored(t, nc, name, 1, 700))
			if names := consumerNames(t, s); len(names) != 0 {
				t.Fatalf("consumers left after browsing to the end: %v", names)
			}

			// Abandoned after one page: gone within the cursor's idle time.
			if _, err := op.Browse(ctx, core.BrowseQuery{Topic: name, From: core.StartAll(), Limit: 300}); err != nil {
				t.Fatal(err)
			}
			if !direct {
				names := consumerNames(t, s)
				if len(names) != 1 || !strings.HasPrefix(names[0], jsb.TailConsumerPrefix) {
					t.Fatalf("while the next page may come: consumers %v, want one %s*", names, jsb.TailConsumerPrefix)
				}
			}
			eventually(t, 10*time.Second, func() string { return fmt.Sprint("consumers ", consumerNames(t, s)) }, func() bool { return len(consumerNames(t, s)) == 0 })
		})
	}
}

// TestBrowseAcrossLongGap: a run of deleted sequences longer than one batch
// of pipelined gets (a WorkQueue stream acked out of order leaves them) is
// crossed forward and backward.
func TestBrowseAcrossLongGap(t *testing.T) {
	t.Parallel()
	nc, js, op := browseEnv(t)
	ctx := context.Background()
	name := testbroker.Name(t, "gap")
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name}, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	for i := 1; i <= 1200; i++ {
		if _, err := js.Publish(ctx, name, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for seq := uint64(3); seq <= 1000; seq++ {
		if err := s.DeleteMsg(ctx, seq); err != nil {
			t.Fatalf("delete %d: %v", seq, err)
		}
	}
	want := rawStored(t, nc, name, 1, 1200)
	if len(want) != 202 {
		t.Fatalf("the raw stream has %d messages, want 202", len(want))
	}
	reversed := slices.Clone(want)
	slices.Reverse(reversed)
	sameStored(t, "forward across 998 deleted", asStored(browseAll(t, op, core.BrowseQuery{Topic: name, From: core.StartAll(), Limit: 100})), want)
	sameStored(t, "reverse across 998 deleted", asStored(browseAll(t, op, core.BrowseQuery{Topic: name, Reverse: true, From: core.StartAll(), Limit: 100})), reversed)
}
