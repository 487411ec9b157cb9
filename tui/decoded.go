package tui

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// decodeLimit bounds the payload a one-line preview or a filter decodes:
// a larger one is shown (and matched) as its raw bytes, so a frame's cost
// does not depend on how big messages are.
const decodeLimit = 64 << 10

// decodeRecord decodes one record with the context's decoder (auto when
// none is set); a payload larger than limit is not decoded (ok false).
func decodeRecord(d decode.Decoder, r core.Record, limit int) (decode.Result, bool) {
	if len(r.Data) > limit {
		return decode.Result{}, false
	}
	if d == nil {
		d = decode.JSONOrText
	}
	return d.Decode(r), true
}

// decodedPreview is the tail and list preview: a payload a decoder other
// than JSON or text read is shown as one line of JSON with its format in
// brackets ("[msgpack] {…}"); a payload its decoder rejects as
// "[cbor: error] <hex>"; anything else as payloadPreview shows it. The
// result is sanitised.
func decodedPreview(d decode.Decoder, r core.Record) string {
	if raw, ok := d.(interface{ ReadsAsRaw(core.Record) bool }); ok && raw.ReadsAsRaw(r) {
		return payloadPreview(r.Data) // JSON or text: shown as it is, no parse
	}
	res, ok := decodeRecord(d, r, decodeLimit)
	if !ok {
		return payloadPreview(r.Data)
	}
	switch {
	case res.Err != nil:
		n := min(len(r.Data), 32)
		s := fmt.Sprintf("[%s: %s] % x", res.Format, res.Err, r.Data[:n])
		if n < len(r.Data) {
			s += " …"
		}
		return SanitizeString(oneLine(s))
	case res.Structured() && res.Format != decode.FormatJSON:
		s := decode.CompactJSON(res.Value)
		if len(s) > previewBytes {
			s = s[:previewBytes] + " …"
		}
		return "[" + SanitizeString(res.Format) + "] " + SanitizeString(s)
	}
	return payloadPreview(r.Data)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// decodedLines is the inspector's payload when its decoder read it as
// something other than JSON or text: pretty JSON, or the error (wrapped at
// width when it is known, so the reason is never cut off) and a hex dump.
// ok false: show the payload as before (JSON, text, hex).
func decodedLines(res decode.Result, data []byte, width int) (lines []string, kind string, ok bool) {
	switch {
	case res.Err != nil:
		msg := SanitizeString(oneLine(fmt.Sprintf("cannot decode as %s: %v", res.Format, res.Err)))
		if width > 0 {
			lines = append(lines, wrapLines(msg, width)...)
		} else {
			lines = append(lines, msg)
		}
		lines = append(lines, "")
		lines = append(lines, strings.Split(strings.TrimRight(hex.Dump(data), "\n"), "\n")...)
		return lines, res.Format + ": not decoded", true
	case res.Structured() && res.Format != decode.FormatJSON:
		return strings.Split(Sanitize([]byte(decode.PrettyJSON(res.Value)), true), "\n"), res.Format + ", shown as JSON", true
	}
	return nil, "", false
}

// payloadEncoder is a decoder that also writes JSON back in its format
// (decode.Set).
type payloadEncoder interface {
	Encode(rec core.Record, jsonText []byte) ([]byte, string, error)
}

// encodePayload encodes what the operator wrote for rec's topic; with a
// decoder that cannot encode, the text goes out as written.
func encodePayload(d decode.Decoder, rec core.Record, text []byte) ([]byte, string, error) {
	if e, ok := d.(payloadEncoder); ok {
		return e.Encode(rec, text)
	}
	return text, decode.FormatText, nil
}

// editableDecoded is a message's payload as the publish dialog offers it
// for editing: pretty JSON when its decoder reads it as msgpack, CBOR or
// protobuf and can write it back (ok false: edit the payload as is).
func editableDecoded(d decode.Decoder, r core.Record) ([]byte, string, bool) {
	if _, ok := d.(payloadEncoder); !ok {
		return nil, "", false
	}
	res, ok := decodeRecord(d, r, lazyPayload)
	if !ok || !res.Structured() || res.Format == decode.FormatJSON || res.Format == decode.FormatProtobuf {
		return nil, "", false
	}
	text := []byte(decode.PrettyJSON(res.Value))
	if !editableText(text) {
		return nil, "", false
	}
	return text, res.Format, true
}
