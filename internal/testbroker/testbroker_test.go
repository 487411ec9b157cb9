package testbroker

import (
	"testing"
	"time"
)

// A client must find the server again after Shutdown/Start and Restart.
func TestNATSShutdownStartKeepsAddress(t *testing.T) {
	n := StartNATS(t)
	nc := n.Connect(t)
	url := n.URL()
	n.Shutdown()
	n.Start()
	if n.URL() != url {
		t.Fatalf("URL changed across Shutdown/Start: %s -> %s", url, n.URL())
	}
	n.Restart()
	if n.URL() != url {
		t.Fatalf("URL changed across Restart: %s -> %s", url, n.URL())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			t.Fatal("client did not reconnect after restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := nc.Publish("x", nil); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestRedisAnswers(t *testing.T) {
	rdb := Redis(t)
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}
