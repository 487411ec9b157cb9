package core

import "strings"

// RedactURL hides the credentials of a broker URL, or of each URL of a
// comma-separated NATS server list, for the screen, errors and logs:
// user:password@ becomes user:xxxxx@, and a lone user part — a NATS token
// (nats://TOKEN@host) or a Redis password (redis://PASS@host) — becomes
// xxxxx@. It works on the text, so a URL that does not parse is redacted too.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

func redactOne(p string) string {
	start := 0
	if i := strings.Index(p, "://"); i >= 0 {
		start = i + 3
	}
	rest := p[start:]
	// The authority ends at the first '/', '?' or '#' after the last '@'
	// that comes before them; a password may itself hold '/' or '@'.
	at := -1
	for j := len(rest) - 1; j >= 0; j-- {
		if rest[j] == '@' {
			at = j
			break
		}
	}
	if at < 0 {
		return p
	}
	userinfo := rest[:at]
	if k := strings.IndexByte(userinfo, ':'); k >= 0 {
		if userinfo[:k] == "" {
			return p[:start] + ":xxxxx" + rest[at:]
		}
		return p[:start] + userinfo[:k] + ":xxxxx" + rest[at:]
	}
	return p[:start] + "xxxxx" + rest[at:]
}

// RedactIn replaces every occurrence of url in text (an error message that
// echoes it) with its redacted form.
func RedactIn(text, url string) string {
	if url == "" {
		return text
	}
	r := RedactURL(url)
	if r == url {
		return text
	}
	return strings.ReplaceAll(text, url, r)
}
