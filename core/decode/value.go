package decode

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"time"
)

// normalize turns what a msgpack or CBOR library hands back into the values
// gojq takes (see Result.Value): maps get string keys, integers become int
// (or *big.Int beyond int's range), bytes become base64 text (as protojson
// writes bytes fields), times RFC 3339 text.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int, *big.Int:
		return x
	case float64:
		return finite(x)
	case float32:
		return finite(float64(x))
	case int8:
		return int(x)
	case int16:
		return int(x)
	case int32:
		return int(x)
	case int64:
		return fromInt64(x)
	case uint8:
		return int(x)
	case uint16:
		return int(x)
	case uint32:
		return fromUint64(uint64(x))
	case uint64:
		return fromUint64(x)
	case uint:
		return fromUint64(uint64(x))
	case big.Int:
		return new(big.Int).Set(&x)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[keyString(k)] = normalize(e)
		}
		return out
	}
	// Anything else (a CBOR tag, an unknown extension): its fields by
	// reflection would leak Go types, so show it as text.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[keyString(it.Key().Interface())] = normalize(it.Value().Interface())
		}
		return out
	}
	return fmt.Sprint(v)
}

// finite keeps every value writable as JSON: NaN and the infinities
// (msgpack and CBOR floats, a JSON number past float64's range) become
// the strings protojson writes for them.
func finite(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func fromInt64(x int64) any {
	if int64(int(x)) == x {
		return int(x)
	}
	return big.NewInt(x)
}

func fromUint64(x uint64) any {
	if x <= math.MaxInt && uint64(int(x)) == x {
		return int(x)
	}
	return new(big.Int).SetUint64(x)
}

// keyString names a non-string map key the way JSON would write it.
func keyString(k any) string {
	switch x := normalize(k).(type) {
	case string:
		return x
	case nil:
		return "null"
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// parseJSON parses one whole JSON document into gojq-compatible values:
// integral numbers as int (or *big.Int past int's range), others float64.
func parseJSON(b []byte) (any, bool) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || !json.Valid(t) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return numbers(v), true
}

// numbers replaces json.Number in a decoded document.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return fromInt64(i)
		}
		if b, ok := new(big.Int).SetString(s, 10); ok {
			return b
		}
		f, _ := strconv.ParseFloat(s, 64)
		return finite(f)
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	}
	return v
}

// CompactJSON writes a decoded value as one line of JSON (keys sorted).
func CompactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// PrettyJSON writes a decoded value as indented JSON (keys sorted).
func PrettyJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
