package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// Fuzz targets for what the HTTP layer reads from a request before any
// handler logic runs: JSON and form bodies, HTTP Basic client credentials
// and the client address behind trusted proxies. Each fuzzes the production
// function itself and checks it against a property or an independent
// restatement of its rule; every refusal must be a client error (4xx),
// never a 500.

// wantClientError fails unless err is refused with a code that answers 4xx.
func wantClientError(t *testing.T, what string, err error) {
	t.Helper()
	status, ok := statusByCode[auth.ErrorCode(err)]
	if !ok || status < 400 || status > 499 {
		t.Fatalf("%s: %v (code %q) answers %d, want a client error", what, err, auth.ErrorCode(err), status)
	}
}

// bodyKind is a request body type of some route and whether it may be empty.
type bodyKind struct {
	typ      reflect.Type
	optional bool
	form     bool // also accepted form-encoded (oauthParams)
}

// bodyKinds lists the body types of every route in the table, so that a new
// endpoint is fuzzed without anyone adding it here.
func bodyKinds() []bodyKind {
	var kinds []bodyKind
	for _, rt := range (&server{}).routeTable() {
		if rt.body == nil {
			continue
		}
		k := bodyKind{reflect.TypeOf(rt.body), rt.optional, rt.form}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

func newBodyRequest(body []byte, contentType string, unknownLength bool) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if unknownLength {
		r.ContentLength = -1 // as for a chunked body
	}
	return r
}

// FuzzDecode: decode, which reads every JSON body, never panics and agrees
// with json.Unmarshal of the whole body (the reference: exactly one JSON
// value, nothing after it, the right types): it accepts what Unmarshal
// accepts, with the same value, provided the Content-Type is JSON and the
// body fits in maxBodyBytes; everything else is a client error, a body over
// the limit that is otherwise fine is 413, and a wrong Content-Type 415. An
// accepted value survives encoding and decoding again.
func FuzzDecode(f *testing.F) {
	const ct = "application/json"
	for _, seed := range []struct {
		body string
		ct   string
		pad  uint16
	}{
		{`{"email":"ada@example.com","password":"pw"}`, ct, 0},
		{`{"name":null,"status":"disabled","email_verified":true}`, ct + "; charset=utf-8", 0},
		{`{"permissions":["users:read"],"scopes":[]}`, ct, 0},
		{`{"permissions":null}`, ct, 0},
		{``, ct, 0}, {`  `, ct, 0}, {``, "", 0}, {`{}`, "text/plain", 0}, {`{}`, ct + "; =", 0},
		{`null`, ct, 0}, {`[]`, ct, 0}, {`"x"`, ct, 0}, {`{"email":1}`, ct, 0},
		{`{"a":1}{"b":2}`, ct, 0}, {`{} x`, ct, 0}, {`{},`, ct, 0}, {`{"a":`, ct, 0},
		{"{\"email\":\"\xc3\x28@x.y\"}", ct, 0}, {`{"EMAIL":"x","Email":"y"}`, ct, 0},
		{`{"name":"\u003c\ud800"}`, ct, 0}, {strings.Repeat("[", 10001), ct, 0},
		{`{}`, ct, maxBodyBytes - 2}, {`{}`, ct, maxBodyBytes - 1}, {`{"a":1}`, ct, 65535},
	} {
		f.Add([]byte(seed.body), seed.ct, seed.pad, false)
	}
	f.Add([]byte(``), ct, uint16(0), true)
	f.Add([]byte(`{}`), ct, uint16(0), true)
	kinds := bodyKinds()
	f.Fuzz(func(t *testing.T, body []byte, contentType string, pad uint16, unknownLength bool) {
		// Trailing whitespace is valid JSON, so pad takes a valid body over
		// the limit without the fuzzer having to grow a 64 KiB input.
		full := append(bytes.Clone(body), bytes.Repeat([]byte{' '}, int(pad))...)
		mt, _, mtErr := mime.ParseMediaType(contentType)
		isJSON := mtErr == nil && mt == "application/json"
		blank := len(bytes.Trim(full, " \t\r\n")) == 0
		for _, k := range kinds {
			got := reflect.New(k.typ)
			err := decode(httptest.NewRecorder(), newBodyRequest(full, contentType, unknownLength), got.Interface(), k.optional)
			if err != nil {
				wantClientError(t, "decode", err)
			}
			what := k.typ.Name()

			want := reflect.New(k.typ)
			refErr := json.Unmarshal(full, want.Interface())
			switch {
			case k.optional && !unknownLength && len(full) == 0:
				// An empty optional body is not looked at.
				if err != nil {
					t.Fatalf("%s: empty optional body refused: %v", what, err)
				}
			case !isJSON:
				if auth.ErrorCode(err) != codeUnsupportedMediaType {
					t.Fatalf("%s: Content-Type %q gave %v, want 415", what, contentType, err)
				}
			case len(full) > maxBodyBytes:
				if err == nil {
					t.Fatalf("%s: accepted a body of %d bytes", what, len(full))
				}
				if (refErr == nil || k.optional && blank) && auth.ErrorCode(err) != codePayloadTooLarge {
					t.Fatalf("%s: a valid body of %d bytes gave %v, want 413", what, len(full), err)
				}
			case k.optional && blank:
				if err != nil {
					t.Fatalf("%s: blank optional body refused: %v", what, err)
				}
			case (err == nil) != (refErr == nil):
				t.Fatalf("%s: decode(%q) = %v, but json.Unmarshal gives %v", what, full, err, refErr)
			case err == nil && !reflect.DeepEqual(got.Interface(), want.Interface()):
				t.Fatalf("%s: decode(%q) = %+v, json.Unmarshal %+v", what, full, got.Elem(), want.Elem())
			}
			if err != nil {
				continue
			}

			// Round trip. The encodings are compared rather than the
			// values: omitempty writes an empty slice as nothing, which
			// decodes as nil, and both mean "none".
			enc, err := json.Marshal(got.Interface())
			if err != nil {
				t.Fatalf("%s: accepted %q, which does not encode: %v", what, full, err)
			}
			if len(enc) > maxBodyBytes {
				continue // escaping grew it past the limit; nothing to learn
			}
			again := reflect.New(k.typ)
			if err := decode(httptest.NewRecorder(), newBodyRequest(enc, "application/json", false), again.Interface(), false); err != nil {
				t.Fatalf("%s: accepted %q, but not its encoding %s: %v", what, full, enc, err)
			}
			if enc2, _ := json.Marshal(again.Interface()); !bytes.Equal(enc, enc2) {
				t.Fatalf("%s: %q decodes to %s, which decodes to %s", what, full, enc, enc2)
			}
		}
	})
}

// FuzzOAuthParams: the OAuth endpoints' bodies, form-encoded or JSON, never
// panic and are refused only with client errors. A form is read as
// url.ParseQuery reads it (the reference), from the body alone: each
// parameter of the struct gets its one value or "" when absent, a parameter
// given twice is refused (RFC 6749 §3.2), and nothing in the URL's query
// string is taken as a parameter. A JSON body is read as decode reads it.
func FuzzOAuthParams(f *testing.F) {
	const form = "application/x-www-form-urlencoded"
	for _, seed := range []struct{ body, ct, query string }{
		{"grant_type=password&username=ada%40example.com&password=p+w", form, ""},
		{"grant_type=client_credentials&scope=a%20b&client_id=c&client_secret=s", form + "; charset=utf-8", ""},
		{"grant_type=refresh_token&refresh_token=x&refresh_token=y", form, ""},
		{"token=abc&token_type_hint=refresh_token&unknown=1&unknown=2", form, "token=from-query"},
		{"grant_type=password", form, "grant_type=client_credentials&client_secret=q"},
		{"grant_type=password", form, "a=%zz"},
		{"a=%zz", form, ""}, {"a=1;b=2", form, ""}, {"=x&&=", form, ""}, {"grant_type", form, ""},
		{"grant_type=x", form + "; =", ""}, {"grant_type=x", "", ""}, {"grant_type=x", "multipart/form-data", ""},
		{`{"grant_type":"password","username":"u"}`, "application/json", ""},
		{`{"grant_type":1}`, "application/json", ""},
		{"grant_type=" + strings.Repeat("a", maxBodyBytes), form, ""},
	} {
		f.Add([]byte(seed.body), seed.ct, seed.query)
	}
	var kinds []bodyKind
	for _, k := range bodyKinds() {
		if k.form {
			kinds = append(kinds, k)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType, query string) {
		mt, _, mtErr := mime.ParseMediaType(contentType)
		for _, k := range kinds {
			newRequest := func() *http.Request {
				r := newBodyRequest(body, contentType, false)
				r.URL.RawQuery = query
				return r
			}
			got := reflect.New(k.typ)
			err := oauthParams(httptest.NewRecorder(), newRequest(), got.Interface())
			if err != nil {
				wantClientError(t, "oauthParams", err)
			}
			what := k.typ.Name()
			switch {
			case mt == "application/json":
				want := reflect.New(k.typ)
				wantErr := decode(httptest.NewRecorder(), newRequest(), want.Interface(), false)
				if auth.ErrorCode(err) != auth.ErrorCode(wantErr) || !reflect.DeepEqual(got.Interface(), want.Interface()) {
					t.Fatalf("%s: JSON body %q read as %+v, %v; decode gives %+v, %v", what, body, got.Elem(), err, want.Elem(), wantErr)
				}
			case mt == "application/x-www-form-urlencoded":
				vals, bodyErr := url.ParseQuery(string(body))
				// The URL's query is not read, malformed or not.
				twice := false
				for i := range k.typ.NumField() {
					if name := k.typ.Field(i).Tag.Get("form"); len(vals[name]) > 1 {
						twice = true
					}
				}
				switch {
				case len(body) > maxBodyBytes:
					if auth.ErrorCode(err) != codePayloadTooLarge {
						t.Fatalf("%s: form of %d bytes gave %v, want 413", what, len(body), err)
					}
				case mtErr != nil || bodyErr != nil || twice:
					if err == nil {
						t.Fatalf("%s: accepted form %q (query %q, Content-Type %q)", what, body, query, contentType)
					}
				case err != nil:
					t.Fatalf("%s: refused form %q (query %q): %v", what, body, query, err)
				default:
					v := got.Elem()
					for i := range k.typ.NumField() {
						name := k.typ.Field(i).Tag.Get("form")
						if name != "" && v.Field(i).String() != vals.Get(name) {
							t.Fatalf("%s: form %q (query %q) set %s = %q, want %q", what, body, query, name, v.Field(i).String(), vals.Get(name))
						}
					}
				}
			default:
				if auth.ErrorCode(err) != codeUnsupportedMediaType {
					t.Fatalf("%s: Content-Type %q gave %v, want 415", what, contentType, err)
				}
			}
		}
	})
}

// basicHeader encodes client credentials as RFC 6749 §2.3.1 says: each
// form-urlencoded (Appendix B), joined by a colon, then base64 (RFC 7617).
func basicHeader(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// FuzzClientCredentials: any id and secret, encoded as RFC 6749 §2.3.1
// says, are read back exactly. Whatever else a client sends (any
// Authorization header, client_id and client_secret in the body) is read
// without panicking and refused only with invalid_request or invalid_client;
// what is accepted from a header is a Basic pair that encodes and reads back
// the same, matches the body's client_id if there is one, and never comes
// with a body secret as well (one method, RFC 6749 §2.3).
func FuzzClientCredentials(f *testing.F) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, seed := range [][5]string{
		{"client-1", "s3cret", basicHeader("client-1", "s3cret"), "", ""},
		{"id with space", "p:a%ss+word/é", "basic   " + b64("c:s") + "  ", "c", ""},
		{"", "", "", "c", "s"},
		{"", "", "", "", ""},
		{"ü", "\x00\xff", basicHeader("a", "b"), "", "s"},
		{"", ":", basicHeader("a", "b"), "b", ""},
		{"", "", "Bearer abc", "", ""},
		{"", "", "Basic", "", ""},
		{"", "", "Basic !!!", "", ""},
		{"", "", "Basic " + b64("no colon"), "", ""},
		{"", "", "Basic " + b64("%zz:x"), "", ""},
		{"", "", "Basic " + b64("a:%"), "", ""},
		{"", "", "Basic " + b64("a+b:c%2Bd:e"), "a b", ""},
		{"", "", "Basic " + b64(":"), "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	}
	request := func(authorization string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		return r
	}
	f.Fuzz(func(t *testing.T, id, secret, header, bodyID, bodySecret string) {
		gotID, gotSecret, ok, err := clientCredentials(request(basicHeader(id, secret)), "", "")
		if err != nil || !ok || gotID != id || gotSecret != secret {
			t.Fatalf("credentials %q, %q read back as %q, %q, %v, %v", id, secret, gotID, gotSecret, ok, err)
		}

		gotID, gotSecret, ok, err = clientCredentials(request(header), bodyID, bodySecret)
		if err != nil {
			if c := auth.ErrorCode(err); c != auth.EInvalid && c != auth.EInvalidClient || ok || gotID != "" || gotSecret != "" {
				t.Fatalf("refused with %q, %q, %v, %v", gotID, gotSecret, ok, err)
			}
			wantClientError(t, "clientCredentials", err)
			return
		}
		if header == "" {
			if ok != (bodyID != "" || bodySecret != "") || gotID != bodyID || gotSecret != bodySecret {
				t.Fatalf("body credentials %q, %q read as %q, %q, %v", bodyID, bodySecret, gotID, gotSecret, ok)
			}
			return
		}
		scheme, _, _ := strings.Cut(header, " ")
		switch {
		case !ok || !strings.EqualFold(scheme, "Basic"):
			t.Fatalf("Authorization %q accepted as %q, %q, %v", header, gotID, gotSecret, ok)
		case bodySecret != "":
			t.Fatalf("accepted both Basic and a body secret")
		case bodyID != "" && bodyID != gotID:
			t.Fatalf("accepted Basic for %q with client_id %q in the body", gotID, bodyID)
		}
		againID, againSecret, _, err := clientCredentials(request(basicHeader(gotID, gotSecret)), "", "")
		if err != nil || againID != gotID || againSecret != gotSecret {
			t.Fatalf("%q read as %q, %q, which encode and read back as %q, %q, %v", header, gotID, gotSecret, againID, againSecret, err)
		}
	})
}

// fuzzProxies are the trusted proxy ranges FuzzClientIP picks from, one bit
// of its mask each: IPv4 and IPv6, nested, a single address, everything,
// and an IPv4-mapped range (which no address matches, since clientIP
// unmaps addresses before looking them up).
var fuzzProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("10.1.0.0/16"),
	netip.MustParsePrefix("192.168.1.1/32"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fd00::/8"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("::ffff:0.0.0.0/96"),
	netip.MustParsePrefix("0.0.0.0/0"),
}

// referenceClientIP restates the X-Forwarded-For rule as a list: the chain
// of addresses from the nearest (the peer) outwards, through the hops right
// to left and cut before the first hop that is not an address, names the
// client by its first address that is not a trusted proxy, or by its
// farthest address when all are trusted. Hops beyond an untrusted address
// or a junk hop were written by someone no trusted proxy vouches for.
func referenceClientIP(remoteAddr string, xff []string, trusted []netip.Prefix) string {
	isTrusted := func(a netip.Addr) bool {
		return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host // not an IP peer (a test, a Unix socket): used as it is
	}
	chain := []netip.Addr{peer.Unmap()}
	var hops []string
	for _, line := range xff {
		hops = append(hops, strings.Split(line, ",")...)
	}
	if len(hops) == 0 {
		hops = []string{""}
	}
	for _, h := range slices.Backward(hops) {
		a, err := netip.ParseAddr(strings.TrimSpace(h))
		if err != nil {
			break
		}
		chain = append(chain, a.Unmap())
	}
	for _, a := range chain {
		if !isTrusted(a) {
			return a.String()
		}
	}
	return chain[len(chain)-1].String()
}

// FuzzClientIP: clientIP, whose answer keys every per-IP limit and is
// recorded in sessions and the audit log, follows the right-most-untrusted
// rule as referenceClientIP states it, for any peer, any X-Forwarded-For
// lines and any set of trusted proxies. Its answer is always the peer's
// address or one of the header's hops (canonicalised), the peer's own
// whenever the peer is not trusted.
func FuzzClientIP(f *testing.F) {
	for _, seed := range []struct {
		remote, xff1, xff2 string
		mask               uint8
	}{
		{"203.0.113.9:5555", "1.2.3.4", "", 1},
		{"10.1.1.1:5555", "198.51.100.7, 10.2.2.2", "", 1},
		{"10.1.1.1:5555", "spoofed, 198.51.100.8", "", 1},
		{"10.1.1.1:5555", "198.51.100.66, junk, 10.2.2.2", "", 1},
		{"10.1.1.1:5555", "10.3.3.3, 10.2.2.2", "", 1},
		{"10.1.1.1:5555", "", "", 1},
		{"10.1.1.1:5555", "198.51.100.1", "10.9.9.9", 1},
		{"10.1.1.1:5555", "198.51.100.1,", "", 1},
		{"10.1.1.1:5555", " 198.51.100.1 ,\t10.0.0.2 ", "", 3},
		{"[::1]:80", "2001:db8::5, fd00::1", "", 1<<3 | 1<<4},
		{"[::ffff:10.0.0.1]:1", "::ffff:198.51.100.9", "", 1},
		{"[::ffff:10.0.0.1]:1", "::ffff:10.0.0.9", "", 1 << 6},
		{"[fd00::1%eth0]:1", "fe80::1%25x, fd00::2%eth1", "", 1 << 4},
		{"192.168.1.1:9", "01.2.3.4, 1.2.3.4:80, [2001:db8::1]", "", 1 << 2},
		{"1.2.3.4", "5.6.7.8", "", 1 << 7},
		{"not-an-ip:1", "5.6.7.8", "", 0xff},
		{"", "", "", 0},
	} {
		f.Add(seed.remote, seed.xff1, seed.xff2, seed.mask)
	}
	f.Fuzz(func(t *testing.T, remoteAddr, xff1, xff2 string, mask uint8) {
		var trusted []netip.Prefix
		for i, p := range fuzzProxies {
			if mask&(1<<i) != 0 {
				trusted = append(trusted, p)
			}
		}
		// Up to two header lines; the first may be empty, as a header
		// sent with no value is.
		var xff []string
		switch {
		case xff2 != "":
			xff = []string{xff1, xff2}
		case xff1 != "":
			xff = []string{xff1}
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remoteAddr
		if xff != nil {
			r.Header["X-Forwarded-For"] = xff
		}
		s := &server{trustedProxies: trusted}
		got := s.clientIP(r)

		if want := referenceClientIP(remoteAddr, xff, trusted); got != want {
			t.Fatalf("peer %q, X-Forwarded-For %q, trusted %v: clientIP = %q, want %q", remoteAddr, xff, trusted, got, want)
		}
		host := remoteAddr
		if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
			host = h
		}
		peer, err := netip.ParseAddr(host)
		if err != nil {
			if got != host {
				t.Fatalf("unparsable peer %q: clientIP = %q", remoteAddr, got)
			}
			return
		}
		peer = peer.Unmap()
		if !s.trusted(peer) && got != peer.String() {
			t.Fatalf("untrusted peer %q: clientIP = %q from its X-Forwarded-For %q", remoteAddr, got, xff)
		}
		seen := []string{peer.String()}
		for _, line := range xff {
			for h := range strings.SplitSeq(line, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(h)); err == nil {
					seen = append(seen, a.Unmap().String())
				}
			}
		}
		if !slices.Contains(seen, got) {
			t.Fatalf("clientIP = %q, which is neither the peer %q nor in X-Forwarded-For %q", got, remoteAddr, xff)
		}
	})
}
