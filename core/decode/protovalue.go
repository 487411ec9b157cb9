package decode

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoValue is what protojson (with proto field names) writes for m, built
// directly rather than written as JSON and parsed back, which costs several
// times more on a firehose. Well-known types (Timestamp, Duration, Struct,
// Any, wrappers…), which protojson writes in their own forms, go through
// protojson. FuzzProtobuf checks both paths agree.
func (c protoCodec) protoValue(m protoreflect.Message) (any, error) {
	if strings.HasPrefix(string(m.Descriptor().FullName()), "google.protobuf.") {
		j, err := protojson.MarshalOptions{Resolver: c.types, UseProtoNames: true}.Marshal(m.Interface())
		if err != nil {
			return nil, err
		}
		v, _ := parseJSON(j)
		return v, nil
	}
	out := make(map[string]any, m.Descriptor().Fields().Len())
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := string(fd.Name())
		if fd.IsExtension() {
			name = "[" + string(fd.FullName()) + "]"
		}
		var val any
		switch {
		case fd.IsList():
			l := v.List()
			arr := make([]any, l.Len())
			for i := range arr {
				if arr[i], err = c.protoScalar(fd, l.Get(i)); err != nil {
					return false
				}
			}
			val = arr
		case fd.IsMap():
			obj := map[string]any{}
			vd := fd.MapValue()
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				obj[k.String()], err = c.protoScalar(vd, mv)
				return err == nil
			})
			val = obj
		default:
			val, err = c.protoScalar(fd, v)
		}
		out[name] = val
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c protoCodec) protoScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) (any, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return v.Bool(), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return int(v.Int()), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return fromUint64(v.Uint()), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10), nil
	case protoreflect.FloatKind:
		return protoFloat(v.Float(), 32), nil
	case protoreflect.DoubleKind:
		return protoFloat(v.Float(), 64), nil
	case protoreflect.StringKind:
		return v.String(), nil
	case protoreflect.BytesKind:
		return base64.StdEncoding.EncodeToString(v.Bytes()), nil
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return nil, nil
		}
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name()), nil
		}
		return int(v.Enum()), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return c.protoValue(v.Message())
	}
	return nil, nil
}

// protoFloat is a float as protojson writes it: NaN and infinities as
// strings, a float32 with its own shortest digits.
func protoFloat(f float64, bits int) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return finite(f)
	}
	if bits == 32 {
		g, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
		f = g
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int(f) // parseJSON reads an integral number as int
	}
	return f
}
