// Package ui serves the hosted pages (sign in, sign up, recovery, account,
// admin console) under /ui/: the static export of the Next.js app in web/,
// embedded at build time, plus /ui/config.json, the run-time branding the
// pages read. The pages talk only to the public API.
//
// The export is committed (internal/ui/dist) so that a plain `go build`
// serves the pages with no Node.js; `npm run build` in web/ regenerates it
// and CI fails when the committed copy differs from the source.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Prefix is where the pages are served.
const Prefix = "/ui/"

// ReturnURLs are the pages a social sign-in (the sign-in page) and a
// social link (the account page) send the browser back to, under issuer.
func ReturnURLs(issuer string) []string {
	base := strings.TrimRight(issuer, "/") + Prefix
	return []string{base, base + "account/"}
}

// Branding is what AUTH_UI_* configure: the product the pages present.
type Branding struct {
	ProductName  string // shown in titles and the header
	LogoURL      string // https URL or a path on authd; "" shows the name only
	PrimaryColor string // #rrggbb
}

// Config is what the pages need to know at run time.
type Config struct {
	Branding
	Issuer string
	// PasswordMinLength and PasswordMaxLength are the password policy's
	// bounds, for the live guidance on the sign-up and password forms.
	PasswordMinLength, PasswordMaxLength int
	// RedirectURLs is the allowlist of where the pages may send the browser
	// after sign-in (?redirect_to=), in its normalised form.
	RedirectURLs []string
}

type configJSON struct {
	ProductName  string       `json:"product_name"`
	LogoURL      string       `json:"logo_url"`
	PrimaryColor string       `json:"primary_color"`
	Issuer       string       `json:"issuer"`
	Password     passwordJSON `json:"password"`
	RedirectURLs []string     `json:"redirect_urls"`
}

type passwordJSON struct {
	MinLength int `json:"min_length"`
	MaxLength int `json:"max_length"`
}

// Handler serves the pages. Paths are those under Prefix; each page
// answers with and without its trailing slash.
type Handler struct {
	files  map[string]*file // by name in the export
	csp    string
	config []byte
}

// file is one file of the export, read once.
type file struct {
	body  []byte
	etag  string // strong, of body
	ctype string

	gzipOnce sync.Once
	gzip     []byte // body gzipped, made on first use
}

// embedded is the embedded export, read and hashed once per process
// however many handlers serve it.
var embedded = sync.OnceValues(func() (map[string]*file, error) {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	return load(files)
})

// New returns the handler of the embedded export.
func New(cfg Config) (*Handler, error) {
	files, err := embedded()
	if err != nil {
		return nil, err
	}
	return newHandler(files, cfg)
}

// load reads every file of an export.
func load(files fs.FS) (map[string]*file, error) {
	out := map[string]*file{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[name] = &file{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: contentType(name)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, required := range []string{"index.html", "404.html"} {
		if out[required] == nil {
			return nil, fmt.Errorf("ui: the export has no %s", required)
		}
	}
	return out, nil
}

func contentType(name string) string {
	if strings.HasSuffix(name, ".txt") {
		return "text/x-component" // Next.js's flight data for client-side navigation
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func newHandler(files map[string]*file, cfg Config) (*Handler, error) {
	redirects := cfg.RedirectURLs
	if redirects == nil {
		redirects = []string{}
	}
	config, err := json.Marshal(configJSON{
		ProductName: cfg.ProductName, LogoURL: cfg.LogoURL, PrimaryColor: cfg.PrimaryColor,
		Issuer:       cfg.Issuer,
		Password:     passwordJSON{MinLength: cfg.PasswordMinLength, MaxLength: cfg.PasswordMaxLength},
		RedirectURLs: redirects,
	})
	if err != nil {
		return nil, err
	}
	return &Handler{files: files, csp: policy(cfg), config: config}, nil
}

// policy is the pages' Content-Security-Policy: scripts, styles and
// connections only from authd itself (the export has no inline script:
// web/scripts/export.mjs moves Next.js's out), images also from the logo's
// origin, forms only to authd, and never inside a frame.
func policy(cfg Config) string {
	img := "'self' data:"
	if u, err := url.Parse(cfg.LogoURL); err == nil && u.Scheme == "https" && u.Host != "" {
		img += " https://" + u.Host
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src " + img,
		"connect-src 'self'",
		"font-src 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"object-src 'none'",
	}, "; ")
}

// ServeHTTP serves r.URL.Path, which must start with Prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	// The sign-in page's URL may carry a social sign-in's one-time code.
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if rel == "config.json" {
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "config.json", time.Time{}, bytes.NewReader(h.config))
		return
	}
	name, status := h.resolve(rel)
	f := h.files[name]
	hdr.Set("Content-Type", f.ctype)
	if status != http.StatusOK {
		hdr.Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		w.Write(f.body)
		return
	}
	if strings.HasPrefix(name, "_next/static/") {
		// Named by content hash: never changes under its name.
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	body, etag := f.body, f.etag
	if compressible(f.ctype) {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			// React and Next.js are most of a page's bytes, and compress
			// about 3:1; nothing in front of authd is assumed to do it.
			body = f.gzipped()
			hdr.Set("Content-Encoding", "gzip")
			etag = strings.TrimSuffix(etag, `"`) + `-gzip"`
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// gzipped returns the file's gzip encoding, compressing it on first use:
// start-up stays cheap, and the export is small enough to keep every
// encoding once made.
func (f *file) gzipped() []byte {
	f.gzipOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
		zw.Write(f.body)
		zw.Close()
		f.gzip = buf.Bytes()
	})
	return f.gzip
}

func compressible(ctype string) bool {
	for _, prefix := range []string{"text/", "application/javascript", "text/javascript", "application/json", "image/svg+xml"} {
		if strings.HasPrefix(ctype, prefix) {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether the client takes gzip (and has not refused
// it with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// resolve maps a path under Prefix to a file of the export: a page's
// directory (with or without the trailing slash) to its index.html, a file
// to itself, anything else to 404.html with status 404.
func (h *Handler) resolve(rel string) (string, int) {
	if strings.Contains(rel, "..") || strings.Contains(rel, "//") || strings.HasPrefix(rel, "/") {
		return "404.html", http.StatusNotFound
	}
	clean := strings.TrimSuffix(rel, "/")
	if clean == "" {
		return "index.html", http.StatusOK
	}
	if h.files[clean+"/index.html"] != nil {
		return clean + "/index.html", http.StatusOK
	}
	if h.files[clean] != nil && !strings.HasSuffix(rel, "/") && !strings.HasSuffix(clean, ".html") {
		return clean, http.StatusOK
	}
	return "404.html", http.StatusNotFound
}
