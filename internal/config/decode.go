package config

import (
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/mqscope/mqscope/core/decode"
)

// The keys of a [contexts.NAME.decode] table that say where protobuf schemas
// come from; every other key there is a topic glob.
const (
	keyDescriptorSet = "proto_descriptor_set"
	keyProtoFiles    = "proto_files"
	keyImportPaths   = "proto_import_paths"
)

// parseDecode reads a context's decode table: topic globs (in file order,
// the first match wins) → format, and the schema sources. It loads the
// schema so a missing message type is reported here, naming its key.
func parseDecode(md toml.MetaData, base toml.Key, table map[string]any, dir string, getenv func(string) string, add func(toml.Key, string, ...any)) *decode.Set {
	if len(table) == 0 {
		return nil
	}
	dkey := func(s ...string) toml.Key { return append(append(append(toml.Key{}, base...), "decode"), s...) }
	var src decode.SchemaSources
	paths := func(k string) []string {
		var out []string
		switch v := table[k].(type) {
		case string:
			out = []string{v}
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					add(dkey(k), "must be a list of file paths")
					return nil
				}
				out = append(out, s)
			}
		case nil:
			return nil
		default:
			add(dkey(k), "must be a file path or a list of them")
			return nil
		}
		for i, p := range out {
			out[i] = expandPath(strings.TrimSpace(p), dir, getenv)
		}
		return out
	}
	src.DescriptorSets = paths(keyDescriptorSet)
	src.ProtoFiles = paths(keyProtoFiles)
	src.ImportPaths = paths(keyImportPaths)
	if len(src.ImportPaths) > 0 && len(src.ProtoFiles) == 0 {
		add(dkey(keyImportPaths), "import paths are for proto_files; give proto_files too")
	}

	var schema *decode.Schema
	schemaKey := keyDescriptorSet
	if len(src.DescriptorSets) == 0 {
		schemaKey = keyProtoFiles
	}
	if !src.Empty() {
		var err error
		if schema, err = decode.LoadSchema(src); err != nil {
			add(dkey(schemaKey), "%v", err)
			return nil
		}
	}

	// Globs in file order.
	var rules []decode.Rule
	bad := false
	for _, k := range md.Keys() {
		if len(k) != len(base)+2 || k[len(base)] != "decode" || !keyPath(k[:len(base)]).equal(base) {
			continue
		}
		glob := k[len(k)-1]
		switch glob {
		case keyDescriptorSet, keyProtoFiles, keyImportPaths:
			continue
		}
		format, ok := table[glob].(string)
		if !ok {
			add(dkey(glob), "a topic glob takes a format: json, protobuf:<message type>, protobuf, msgpack, cbor, text or auto")
			bad = true
			continue
		}
		if err := decode.CheckGlob(glob); err != nil {
			add(dkey(glob), "bad topic glob: %v", err)
			bad = true
			continue
		}
		if err := decode.CheckFormat(format, schema); err != nil {
			add(dkey(glob), "%v", err)
			bad = true
			continue
		}
		rules = append(rules, decode.Rule{Glob: glob, Format: format})
	}
	if bad {
		return nil
	}
	set, err := decode.NewSet(rules, schema)
	if err != nil {
		add(dkey(), "%v", err)
		return nil
	}
	return set
}

type keyPath toml.Key

func (k keyPath) equal(o toml.Key) bool {
	if len(k) != len(o) {
		return false
	}
	for i := range k {
		if k[i] != o[i] {
			return false
		}
	}
	return true
}

// Decoder is the context's payload decoders: its [contexts.NAME.decode]
// rules, else Content-Type headers and auto.
func (c Context) Decoder() *decode.Set {
	if c.Decode != nil {
		return c.Decode
	}
	return &decode.Set{}
}
