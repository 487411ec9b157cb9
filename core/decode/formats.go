package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"unicode"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Limits on hostile payloads: a structured payload nests at most maxDepth
// deep and holds at most maxElements values in all. Every element must be
// present in the bytes, so memory stays proportional to the payload.
const (
	maxDepth    = 64
	maxElements = 1 << 20
)

// Format names.
const (
	FormatJSON     = "json"
	FormatMsgpack  = "msgpack"
	FormatCBOR     = "cbor"
	FormatProtobuf = "protobuf"
	FormatText     = "text"
	FormatBinary   = "binary"
	FormatAuto     = "auto"
)

func decodeJSON(b []byte) (any, error) {
	v, ok := parseJSON(b)
	if !ok {
		return nil, errors.New("not valid JSON")
	}
	return v, nil
}

func decodeText(b []byte) (any, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8 text")
	}
	return string(b), nil
}

// decodeMsgpack decodes exactly one msgpack value filling the whole payload.
func decodeMsgpack(b []byte) (any, error) {
	if err := scanMsgpack(b); err != nil {
		return nil, fmt.Errorf("msgpack: %w", err)
	}
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	dec.UseLooseInterfaceDecoding(true)
	v, err := dec.DecodeInterfaceLoose()
	if err != nil {
		return nil, err
	}
	return normalize(v), nil
}

var cborDec = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  maxDepth,
		MaxArrayElements: 1 << 17,
		MaxMapPairs:      1 << 17,
		IndefLength:      cbor.IndefLengthAllowed,
		DupMapKey:        cbor.DupMapKeyQuiet,
		DefaultMapType:   reflect.TypeOf(map[any]any(nil)),
		IntDec:           cbor.IntDecConvertNone,
		TimeTag:          cbor.DecTagOptional,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

var cborEnc = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// decodeCBOR decodes exactly one CBOR item filling the whole payload, within
// the nesting and size limits.
func decodeCBOR(b []byte) (any, error) {
	var v any
	if err := cborDec.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return normalize(cborValue(v)), nil
}

// cborValue unwraps tags normalize cannot know: a tag becomes
// {"tag": n, "value": …}.
func cborValue(v any) any {
	switch x := v.(type) {
	case cbor.Tag:
		return map[string]any{"tag": fromUint64(x.Number), "value": cborValue(x.Content)}
	case cbor.RawTag:
		return map[string]any{"tag": fromUint64(x.Number), "value": x.Content}
	case []any:
		for i, e := range x {
			x[i] = cborValue(e)
		}
	case map[any]any:
		for k, e := range x {
			x[k] = cborValue(e)
		}
	}
	return v
}

// decodeAuto is what applies with nothing configured: JSON; then, for bytes
// that are not clean text, msgpack or CBOR when one parses cleanly, fills the
// whole payload and holds a map or an array; else text, else binary.
func decodeAuto(b []byte) Result {
	if v, ok := parseJSON(b); ok {
		return Result{Format: FormatJSON, Value: v}
	}
	if !isText(b) {
		if v, err := decodeMsgpack(b); err == nil && plausible(v) {
			return Result{Format: FormatMsgpack, Value: v}
		}
		if v, err := decodeCBOR(b); err == nil && plausible(v) {
			return Result{Format: FormatCBOR, Value: v}
		}
	}
	if utf8.Valid(b) {
		return Result{Format: FormatText, Value: string(b)}
	}
	return Result{Format: FormatBinary}
}

// isText: valid UTF-8 with no control characters but whitespace.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// plausible: a document, not a lone number or string that a few random
// bytes also encode: a non-empty array or map.
func plausible(v any) bool {
	switch x := v.(type) {
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return false
}

// scanMsgpack walks the msgpack structure without building it: exactly one
// value, ending at the last byte, within maxDepth and maxElements, every
// declared element present. Only then does the library decode it.
func scanMsgpack(b []byte) error {
	pos, elems := 0, 0
	// pending[i] is how many values remain at depth i.
	pending := []int{1}
	for len(pending) > 0 {
		if pending[len(pending)-1] == 0 {
			pending = pending[:len(pending)-1]
			continue
		}
		pending[len(pending)-1]--
		if pos >= len(b) {
			return errors.New("truncated")
		}
		elems++
		if elems > maxElements {
			return errors.New("too many elements")
		}
		c := b[pos]
		pos++
		need := func(n int) (uint64, error) {
			if len(b)-pos < n {
				return 0, errors.New("truncated")
			}
			var v uint64
			switch n {
			case 1:
				v = uint64(b[pos])
			case 2:
				v = uint64(binary.BigEndian.Uint16(b[pos:]))
			case 4:
				v = uint64(binary.BigEndian.Uint32(b[pos:]))
			case 8:
				v = binary.BigEndian.Uint64(b[pos:])
			}
			pos += n
			return v, nil
		}
		skip := func(n uint64) error {
			if uint64(len(b)-pos) < n {
				return errors.New("truncated")
			}
			pos += int(n)
			return nil
		}
		push := func(n uint64) error {
			if uint64(len(b)-pos) < n { // every element takes at least a byte
				return errors.New("truncated")
			}
			if len(pending) >= maxDepth {
				return errors.New("nested too deep")
			}
			pending = append(pending, int(n))
			return nil
		}
		var err error
		var n uint64
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			err = push(2 * uint64(c&0x0f))
		case c >= 0x90 && c <= 0x9f:
			err = push(uint64(c & 0x0f))
		case c >= 0xa0 && c <= 0xbf:
			err = skip(uint64(c & 0x1f))
		case c == 0xc4 || c == 0xd9: // bin8, str8
			if n, err = need(1); err == nil {
				err = skip(n)
			}
		case c == 0xc5 || c == 0xda:
			if n, err = need(2); err == nil {
				err = skip(n)
			}
		case c == 0xc6 || c == 0xdb:
			if n, err = need(4); err == nil {
				err = skip(n)
			}
		case c == 0xc7: // ext8
			if n, err = need(1); err == nil {
				err = skip(n + 1)
			}
		case c == 0xc8:
			if n, err = need(2); err == nil {
				err = skip(n + 1)
			}
		case c == 0xc9:
			if n, err = need(4); err == nil {
				err = skip(n + 1)
			}
		case c == 0xca, c == 0xce, c == 0xd2: // float32, uint32, int32
			err = skip(4)
		case c == 0xcb, c == 0xcf, c == 0xd3:
			err = skip(8)
		case c == 0xcc, c == 0xd0:
			err = skip(1)
		case c == 0xcd, c == 0xd1:
			err = skip(2)
		case c >= 0xd4 && c <= 0xd8: // fixext 1,2,4,8,16
			err = skip(1 + 1<<(c-0xd4))
		case c == 0xdc:
			if n, err = need(2); err == nil {
				err = push(n)
			}
		case c == 0xdd:
			if n, err = need(4); err == nil {
				err = push(n)
			}
		case c == 0xde:
			if n, err = need(2); err == nil {
				err = push(2 * n)
			}
		case c == 0xdf:
			if n, err = need(4); err == nil {
				err = push(2 * n)
			}
		default: // 0xc1 is never used
			return fmt.Errorf("invalid byte 0x%02x at %d", c, pos-1)
		}
		if err != nil {
			return err
		}
	}
	if pos != len(b) {
		return fmt.Errorf("%d bytes after the value", len(b)-pos)
	}
	return nil
}
