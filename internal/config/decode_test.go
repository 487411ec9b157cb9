package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqscope/mqscope/core"
)

func copyShop(t *testing.T, s *sandbox) {
	t.Helper()
	for _, f := range []string{"shop.proto", "shop.pb"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "core", "decode", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		s.write(filepath.Join("schemas", f), string(b))
	}
}

func TestDecodeTable(t *testing.T) {
	for _, src := range []string{
		`proto_descriptor_set = "schemas/shop.pb"`,
		`proto_files = ["schemas/shop.proto"]`,
		`proto_files = ["schemas/shop.proto"]` + "\n" + `proto_import_paths = ["schemas"]`,
	} {
		t.Run(src, func(t *testing.T) {
			s := newSandbox(t)
			copyShop(t, s)
			path := s.write("c.toml", `
[contexts.a]
backend = "nats_jetstream"

[contexts.a.decode]
`+src+`
"orders.*" = "protobuf:shop.v1.Order"
"telemetry.*" = "msgpack"
"*" = "auto"
"orders.raw" = "text"
`)
			cfg := s.mustLoad(Flags{ConfigFile: path})
			c, _ := cfg.Lookup("a")
			d := c.Decoder()
			for topic, want := range map[string]string{
				"orders.eu":   "protobuf:shop.v1.Order",
				"orders.raw":  "protobuf:shop.v1.Order", // the first match wins
				"telemetry.x": "msgpack",
				"other":       "auto",
			} {
				if got := d.FormatFor(core.Record{Topic: topic}); got != want {
					t.Errorf("%s: %s, want %s", topic, got, want)
				}
			}
		})
	}
}

func TestDecodeTableErrors(t *testing.T) {
	for _, c := range []struct{ name, table, want string }{
		{"bad glob", `"orders.[" = "json"`, `6:contexts.a.decode."orders.[":bad topic glob`},
		{"unknown format", `"orders.*" = "yaml"`, `6:contexts.a.decode."orders.*":unknown format "yaml"`},
		{"not a string", `"orders.*" = 3`, `6:contexts.a.decode."orders.*":takes a format`},
		{"no schema", `"orders.*" = "protobuf:shop.v1.Order"`, `6:contexts.a.decode."orders.*":no schema is loaded`},
		{"missing message", "proto_descriptor_set = \"schemas/shop.pb\"\n\"o\" = \"protobuf:shop.v1.Nope\"", `7:contexts.a.decode.o:"shop.v1.Nope" is not in the schema; known: shop.v1.Line, shop.v1.Order`},
		{"missing file", `proto_descriptor_set = "schemas/none.pb"`, `6:contexts.a.decode.proto_descriptor_set:no such file`},
		{"broken proto", `proto_files = ["schemas/broken.proto"]`, `6:contexts.a.decode.proto_files:broken.proto`},
		{"import paths alone", `proto_import_paths = ["schemas"]`, `6:contexts.a.decode.proto_import_paths:give proto_files too`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSandbox(t)
			copyShop(t, s)
			s.write("schemas/broken.proto", "syntax = \"proto3\";\nmessage {\n")
			path := s.write("c.toml", "\n[contexts.a]\nbackend = \"nats_core\"\n\n[contexts.a.decode]\n"+c.table+"\n")
			_, err := s.load(Flags{ConfigFile: path})
			parts := strings.SplitN(c.want, ":", 3)
			want := path + ":" + parts[0] + ": " + parts[1] + ": "
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), parts[2]) {
				t.Fatalf("got %v\nwant %s…%s", err, want, parts[2])
			}
		})
	}
}

func TestNoDecodeTableMeansAuto(t *testing.T) {
	s := newSandbox(t)
	path := s.write("c.toml", "[contexts.a]\nbackend = \"nats_core\"\n")
	c, _ := s.mustLoad(Flags{ConfigFile: path}).Lookup("a")
	if got := c.Decoder().FormatFor(core.Record{Topic: "x", Header: core.Header{"Content-Type": {"application/cbor"}}}); got != "cbor" {
		t.Fatalf("header ignored: %s", got)
	}
	if got := c.Decoder().FormatFor(core.Record{Topic: "x"}); got != "auto" {
		t.Fatalf("%s", got)
	}
}
