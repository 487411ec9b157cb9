package decode

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Schema holds the protobuf message types payloads are decoded with: from
// descriptor sets (protoc --descriptor_set_out, buf build -o) and .proto
// files compiled when it is loaded.
type Schema struct {
	files *protoregistry.Files
	types *dynamicpb.Types
}

// SchemaSources says where a Schema comes from. Paths are used as given
// (the config resolves them against its own directory).
type SchemaSources struct {
	DescriptorSets []string
	ProtoFiles     []string
	// ImportPaths are searched for ProtoFiles and their imports; when empty
	// each file's own directory is.
	ImportPaths []string
}

// Empty reports whether no schema was asked for.
func (s SchemaSources) Empty() bool {
	return len(s.DescriptorSets) == 0 && len(s.ProtoFiles) == 0
}

// LoadSchema reads descriptor sets and compiles .proto files into one set of
// message types.
func LoadSchema(src SchemaSources) (*Schema, error) {
	files := new(protoregistry.Files)
	for _, path := range src.DescriptorSets {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("protobuf descriptor set: %w", err)
		}
		var fds descriptorpb.FileDescriptorSet
		if err := proto.Unmarshal(b, &fds); err != nil {
			return nil, fmt.Errorf("protobuf descriptor set %s: not a FileDescriptorSet: %w", path, err)
		}
		set, err := protodesc.NewFiles(&fds)
		if err != nil {
			return nil, fmt.Errorf("protobuf descriptor set %s: %w", path, err)
		}
		var rerr error
		set.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			rerr = register(files, fd)
			return rerr == nil
		})
		if rerr != nil {
			return nil, fmt.Errorf("protobuf descriptor set %s: %w", path, rerr)
		}
	}
	if len(src.ProtoFiles) > 0 {
		if err := compileProtos(files, src.ProtoFiles, src.ImportPaths); err != nil {
			return nil, err
		}
	}
	return &Schema{files: files, types: dynamicpb.NewTypes(files)}, nil
}

// register adds a file unless the same path is already there (two sources
// may both carry google/protobuf/timestamp.proto).
func register(files *protoregistry.Files, fd protoreflect.FileDescriptor) error {
	if _, err := files.FindFileByPath(fd.Path()); err == nil {
		return nil
	}
	return files.RegisterFile(fd)
}

func compileProtos(files *protoregistry.Files, protoFiles, importPaths []string) error {
	names := make([]string, 0, len(protoFiles))
	paths := importPaths
	for _, f := range protoFiles {
		if len(importPaths) == 0 {
			paths = append(paths, filepath.Dir(f))
			names = append(names, filepath.Base(f))
			continue
		}
		name, ok := "", false
		for _, ip := range importPaths {
			if rel, err := filepath.Rel(ip, f); err == nil && !strings.HasPrefix(rel, "..") {
				name, ok = filepath.ToSlash(rel), true
				break
			}
		}
		if !ok {
			return fmt.Errorf("protobuf file %s is not under any of proto_import_paths %v", f, importPaths)
		}
		names = append(names, name)
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: paths}),
	}
	res, err := c.Compile(context.Background(), names...)
	if err != nil {
		return fmt.Errorf("protobuf files: %w", err)
	}
	var add func(fd protoreflect.FileDescriptor) error
	add = func(fd protoreflect.FileDescriptor) error {
		imps := fd.Imports()
		for i := 0; i < imps.Len(); i++ {
			if err := add(imps.Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		return register(files, fd)
	}
	for _, fd := range res {
		if err := add(fd); err != nil {
			return fmt.Errorf("protobuf file %s: %w", fd.Path(), err)
		}
	}
	return nil
}

// Message finds a message type by its full name (package.Message).
func (s *Schema) Message(name string) (protoreflect.MessageDescriptor, error) {
	if s == nil {
		return nil, fmt.Errorf("protobuf message type %q: no schema is loaded (give proto_descriptor_set or proto_files)", name)
	}
	d, err := s.files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("protobuf message type %q is not in the schema", name)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("protobuf %q is not a message type", name)
	}
	return md, nil
}

// Messages lists the message types the schema knows (for error messages).
func (s *Schema) Messages() []string {
	if s == nil {
		return nil
	}
	var out []string
	var walk func(ms protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			if !m.IsMapEntry() {
				out = append(out, string(m.FullName()))
			}
			walk(m.Messages())
		}
	}
	s.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(fd.Path(), "google/protobuf/") {
			walk(fd.Messages())
		}
		return true
	})
	sort.Strings(out)
	return out
}

// protoCodec decodes and encodes one message type.
type protoCodec struct {
	md    protoreflect.MessageDescriptor
	types *dynamicpb.Types
}

func (c protoCodec) decode(b []byte) (any, error) {
	m := dynamicpb.NewMessage(c.md)
	if err := (proto.UnmarshalOptions{Resolver: c.types}).Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("protobuf %s: %w", c.md.FullName(), err)
	}
	v, err := c.protoValue(m)
	if err != nil {
		return nil, fmt.Errorf("protobuf %s: %w", c.md.FullName(), err)
	}
	return v, nil
}

// decodeViaJSON is decode through protojson's text (the reference
// protoValue is checked against).
func (c protoCodec) decodeViaJSON(b []byte) (any, error) {
	m := dynamicpb.NewMessage(c.md)
	if err := (proto.UnmarshalOptions{Resolver: c.types}).Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("protobuf %s: %w", c.md.FullName(), err)
	}
	j, err := protojson.MarshalOptions{Resolver: c.types, UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("protobuf %s: %w", c.md.FullName(), err)
	}
	v, ok := parseJSON(j)
	if !ok {
		return nil, fmt.Errorf("protobuf %s: unreadable JSON from protojson", c.md.FullName())
	}
	return v, nil
}

// encode writes JSON (protojson: field names or their lowerCamelCase JSON
// names) as the message's binary form, deterministically.
func (c protoCodec) encode(jsonText []byte) ([]byte, error) {
	m := dynamicpb.NewMessage(c.md)
	if err := (protojson.UnmarshalOptions{Resolver: c.types}).Unmarshal(jsonText, m); err != nil {
		return nil, fmt.Errorf("protobuf %s: %w", c.md.FullName(), err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("protobuf %s: %w", c.md.FullName(), err)
	}
	return b, nil
}

// decodeProtoWire reads protobuf bytes without a schema. Each field is keyed
// by its number ("1", "2", …); a number seen more than once becomes an array.
// Values: varints as unsigned integers, fixed32/fixed64 as unsigned
// integers, length-delimited fields as a nested object when the bytes parse
// as a message whole, else as text when they are printable UTF-8, else as
// base64; groups as nested objects. The wire type cannot say more: a varint
// may be a bool, an enum or a zigzag sint; fixed64 may be a double.
func decodeProtoWire(b []byte) (any, error) {
	elems := 0
	v, err := protoWireMessage(b, 0, &elems)
	if err != nil {
		return nil, fmt.Errorf("protobuf: %w", err)
	}
	return v, nil
}

func protoWireMessage(b []byte, depth int, elems *int) (map[string]any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deep")
	}
	out := map[string]any{}
	for len(b) > 0 {
		*elems++
		if *elems > maxElements {
			return nil, errors.New("too many fields")
		}
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		var val any
		switch typ {
		case protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			val, b = fromUint64(x), b[n:]
		case protowire.Fixed32Type:
			x, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			val, b = fromUint64(uint64(x)), b[n:]
		case protowire.Fixed64Type:
			x, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			val, b = fromUint64(x), b[n:]
		case protowire.BytesType:
			x, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			val = protoWireBytes(x, depth, elems)
		case protowire.StartGroupType:
			x, n := protowire.ConsumeGroup(num, b)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			g, err := protoWireMessage(x, depth+1, elems)
			if err != nil {
				return nil, fmt.Errorf("field %d: %w", num, err)
			}
			val = g
		default:
			return nil, fmt.Errorf("field %d: unexpected wire type %d", num, typ)
		}
		key := strconv.Itoa(int(num))
		switch prev := out[key].(type) {
		case nil:
			out[key] = val
		case []any: // values are never arrays: this is an earlier repeat
			out[key] = append(prev, val)
		default:
			out[key] = []any{prev, val}
		}
	}
	return out, nil
}

func protoWireBytes(x []byte, depth int, elems *int) any {
	if isText(x) {
		return string(x)
	}
	saved := *elems
	if m, err := protoWireMessage(x, depth+1, elems); err == nil {
		return m
	}
	*elems = saved
	return base64.StdEncoding.EncodeToString(x)
}
