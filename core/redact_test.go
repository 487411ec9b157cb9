package core_test

import (
	"strings"
	"testing"

	"github.com/mqscope/mqscope/core"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"redis://:pw@h:6379/0":          "redis://:xxxxx@h:6379/0",
		"redis://admin:s3cr3t@h:6379/0": "redis://admin:xxxxx@h:6379/0",
		"redis://PASS@h:6379":           "redis://xxxxx@h:6379",
		"nats://TOKEN@h:4222":           "nats://xxxxx@h:4222",
		"nats://u:p@a:1,nats://u:p@b:2": "nats://u:xxxxx@a:1,nats://u:xxxxx@b:2",
		"nats://h:4222":                 "nats://h:4222",
		"h:4222":                        "h:4222",
		"tok@h:4222":                    "xxxxx@h:4222",
		"rediss://u:p/w@x@h:1/2?x=1":    "rediss://u:xxxxx@h:1/2?x=1",
		"redis://u:%zz@h:1":             "redis://u:xxxxx@h:1", // does not parse as a URL
		"nats://a:1, nats://s3cr3t@b:2": "nats://a:1, nats://xxxxx@b:2",
	} {
		if got := core.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	msg := `parse "redis://admin:s3cr3t@h:1/x": invalid`
	if got := core.RedactIn(msg, "redis://admin:s3cr3t@h:1/x"); strings.Contains(got, "s3cr3t") {
		t.Errorf("RedactIn left the secret: %s", got)
	}
}
