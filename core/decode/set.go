package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"mime"
	"regexp"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/mqscope/mqscope/core"
)

// Rule chooses a format for the topics a glob matches. The glob matches the
// record's subject or its topic (stream): '*' is any run of characters
// (dots and colons included), '?' one character, '[…]' a class.
type Rule struct {
	Glob   string
	Format string // json | protobuf:<message> | protobuf | msgpack | cbor | text | auto
}

// Set is a context's decoders: its rules in order (the first that matches
// wins), then a Content-Type header, then auto. The zero value and a nil
// *Set decode everything with auto. Safe for concurrent use.
type Set struct {
	rules  []rule
	schema *Schema
}

type rule struct {
	glob  string
	re    *regexp.Regexp
	codec codec
}

// codec is one format's decode and encode.
type codec struct {
	format string
	proto  *protoCodec
}

var _ Decoder = (*Set)(nil)

// NewSet checks every rule (glob, format, message type in schema) and
// builds the set; schema may be nil when no rule needs one.
func NewSet(rules []Rule, schema *Schema) (*Set, error) {
	s := &Set{schema: schema}
	var errs []error
	for _, r := range rules {
		re, err := compileGlob(r.Glob)
		if err != nil {
			errs = append(errs, fmt.Errorf("topic glob %q: %w", r.Glob, err))
			continue
		}
		c, err := schema.codec(r.Format)
		if err != nil {
			errs = append(errs, fmt.Errorf("topic glob %q: %w", r.Glob, err))
			continue
		}
		s.rules = append(s.rules, rule{glob: r.Glob, re: re, codec: c})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// CheckGlob says what is wrong with a topic glob, if anything.
func CheckGlob(glob string) error {
	_, err := compileGlob(glob)
	return err
}

// CheckFormat says what is wrong with a format name against a schema (nil:
// none loaded), if anything.
func CheckFormat(format string, schema *Schema) error {
	_, err := schema.codec(format)
	return err
}

func compileGlob(g string) (*regexp.Regexp, error) {
	if g == "" {
		return nil, errors.New("empty glob")
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := strings.IndexByte(g[i+1:], ']')
			if j < 0 {
				return nil, errors.New("'[' without a closing ']'")
			}
			class := g[i+1 : i+1+j]
			if class == "" {
				return nil, errors.New("empty class '[]'")
			}
			neg := strings.HasPrefix(class, "!") || strings.HasPrefix(class, "^")
			if neg {
				class = class[1:]
			}
			b.WriteString("[")
			if neg {
				b.WriteString("^")
			}
			b.WriteString(strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `^`, `\^`).Replace(class))
			b.WriteString("]")
			i += j + 1
		case '\\':
			if i+1 < len(g) {
				i++
			}
			b.WriteString(regexp.QuoteMeta(g[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func (s *Schema) codec(format string) (codec, error) {
	f := strings.TrimSpace(format)
	switch f {
	case FormatJSON, FormatMsgpack, FormatCBOR, FormatText, FormatAuto, FormatProtobuf:
		return codec{format: f}, nil
	}
	if name, ok := strings.CutPrefix(f, FormatProtobuf+":"); ok {
		name = strings.TrimSpace(name)
		if name == "" {
			return codec{}, errors.New(`"protobuf:" needs a message type, like "protobuf:shop.v1.Order"`)
		}
		md, err := s.Message(name)
		if err != nil {
			if known := s.Messages(); len(known) > 0 && len(known) <= 20 {
				err = fmt.Errorf("%w; known: %s", err, strings.Join(known, ", "))
			}
			return codec{}, err
		}
		return codec{format: FormatProtobuf + ":" + name, proto: &protoCodec{md: md, types: s.types}}, nil
	}
	return codec{}, fmt.Errorf("unknown format %q: want json, protobuf:<message type>, protobuf, msgpack, cbor, text or auto", format)
}

// FormatFor names the format a record is decoded with: the first rule whose
// glob matches (unless it says auto), else its Content-Type header, else
// auto.
func (s *Set) FormatFor(rec core.Record) string {
	return s.codecFor(rec).format
}

func (s *Set) codecFor(rec core.Record) codec {
	if s != nil {
		for _, r := range s.rules {
			if r.re.MatchString(rec.Subject) || r.re.MatchString(rec.Topic) {
				if r.codec.format != FormatAuto {
					return r.codec
				}
				break
			}
		}
	}
	if c, ok := s.fromContentType(contentType(rec.Header)); ok {
		return c
	}
	return codec{format: FormatAuto}
}

// contentType finds the Content-Type header whatever its case.
func contentType(h core.Header) string {
	if v := h.Get("Content-Type"); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, "content-type") && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func (s *Set) fromContentType(ct string) (codec, bool) {
	if ct == "" {
		return codec{}, false
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return codec{}, false
	}
	switch mt {
	case "application/json", "text/json":
		return codec{format: FormatJSON}, true
	case "application/msgpack", "application/x-msgpack", "application/vnd.msgpack":
		return codec{format: FormatMsgpack}, true
	case "application/cbor":
		return codec{format: FormatCBOR}, true
	case "application/x-protobuf", "application/protobuf", "application/vnd.google.protobuf", "application/x-google-protobuf":
		name := params["messagetype"]
		if name == "" {
			name = params["proto"]
		}
		if name != "" {
			if s != nil {
				if c, err := s.schema.codec(FormatProtobuf + ":" + name); err == nil {
					return c, true
				}
			}
		}
		return codec{format: FormatProtobuf}, true
	}
	if strings.HasPrefix(mt, "text/") {
		return codec{format: FormatText}, true
	}
	if strings.HasSuffix(mt, "+json") {
		return codec{format: FormatJSON}, true
	}
	return codec{}, false
}

// Decode implements Decoder.
func (s *Set) Decode(rec core.Record) Result {
	c := s.codecFor(rec)
	if c.format != FormatAuto && c.format != FormatText && rec.Size > len(rec.Data) {
		return Result{Format: c.format, Err: fmt.Errorf("payload truncated for display (%d of %d bytes): not decoded", len(rec.Data), rec.Size)}
	}
	return c.decode(rec.Data)
}

// DecodeAs decodes a payload with a named format (as in the config).
func (s *Set) DecodeAs(format string, data []byte) Result {
	var sc *Schema
	if s != nil {
		sc = s.schema
	}
	c, err := sc.codec(format)
	if err != nil {
		return Result{Format: format, Err: err}
	}
	return c.decode(data)
}

func (c codec) decode(b []byte) Result {
	var v any
	var err error
	switch c.format {
	case FormatAuto:
		return decodeAuto(b)
	case FormatJSON:
		v, err = decodeJSON(b)
	case FormatText:
		v, err = decodeText(b)
	case FormatMsgpack:
		v, err = decodeMsgpack(b)
	case FormatCBOR:
		v, err = decodeCBOR(b)
	case FormatProtobuf:
		v, err = decodeProtoWire(b)
	default:
		v, err = c.proto.decode(b)
	}
	if err != nil {
		return Result{Format: c.format, Err: err}
	}
	return Result{Format: c.format, Value: v}
}

// Encode turns JSON text into the bytes rec's topic is published with: the
// format FormatFor names; under auto, the format rec.Data was detected as
// (edit-and-resend keeps the encoding), else the text as written. It
// returns the format used. JSON and text are published exactly as written.
func (s *Set) Encode(rec core.Record, jsonText []byte) ([]byte, string, error) {
	c := s.codecFor(rec)
	if c.format == FormatAuto {
		if len(rec.Data) > 0 && (rec.Size <= len(rec.Data)) {
			switch f := decodeAuto(rec.Data).Format; f {
			case FormatMsgpack, FormatCBOR:
				c = codec{format: f}
			}
		}
		if c.format == FormatAuto {
			return append([]byte(nil), jsonText...), FormatText, nil
		}
	}
	b, err := c.encode(jsonText)
	return b, c.format, err
}

// EncodeValue is Encode for a decoded value (as Result.Value holds).
func (s *Set) EncodeValue(rec core.Record, v any) ([]byte, string, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, "", fmt.Errorf("encode: %w", err)
	}
	return s.Encode(rec, j)
}

func (c codec) encode(jsonText []byte) ([]byte, error) {
	switch c.format {
	case FormatText:
		return append([]byte(nil), jsonText...), nil
	case FormatJSON:
		if !json.Valid(bytes.TrimSpace(jsonText)) {
			return nil, errors.New("json: not valid JSON")
		}
		return append([]byte(nil), jsonText...), nil
	case FormatProtobuf:
		return nil, errors.New("protobuf without a message type cannot be encoded: configure protobuf:<message type> for this topic")
	}
	v, ok := parseJSON(jsonText)
	if !ok {
		return nil, fmt.Errorf("%s: the input is not valid JSON", c.format)
	}
	switch c.format {
	case FormatMsgpack:
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.SetSortMapKeys(true)
		enc.UseCompactInts(true)
		if err := enc.Encode(forMsgpack(v)); err != nil {
			return nil, fmt.Errorf("msgpack: %w", err)
		}
		return buf.Bytes(), nil
	case FormatCBOR:
		b, err := cborEnc.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("cbor: %w", err)
		}
		return b, nil
	}
	return c.proto.encode(jsonText)
}

// forMsgpack replaces big integers msgpack cannot write as such.
func forMsgpack(v any) any {
	switch x := v.(type) {
	case *big.Int:
		if x.IsUint64() {
			return x.Uint64()
		}
		if x.IsInt64() {
			return x.Int64()
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = forMsgpack(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = forMsgpack(e)
		}
	}
	return v
}

// EncodeAs turns JSON text into bytes of a named format (as in the config);
// "raw" returns the input unchanged.
func (s *Set) EncodeAs(format string, jsonText []byte) ([]byte, error) {
	if format == "raw" {
		return append([]byte(nil), jsonText...), nil
	}
	var sc *Schema
	if s != nil {
		sc = s.schema
	}
	c, err := sc.codec(format)
	if err != nil {
		return nil, err
	}
	if c.format == FormatAuto {
		return append([]byte(nil), jsonText...), nil
	}
	return c.encode(jsonText)
}

// ReadsAsRaw reports whether rec's payload needs no decoding to be shown:
// under auto, clean text (UTF-8 without control characters) is JSON or
// text, never msgpack or CBOR (decodeAuto does not try them on it), and
// text is itself. A caller showing the raw text then skips the parse.
func (s *Set) ReadsAsRaw(rec core.Record) bool {
	switch s.FormatFor(rec) {
	case FormatAuto:
		return isText(rec.Data)
	case FormatText:
		return true
	}
	return false
}
