package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// The documentation page: Swagger UI, vendored by scripts/vendor-swagger-ui
// (see docs/README.md), and our own page and start-up script. Nothing is
// loaded from elsewhere: authd runs offline and keeps a strict CSP.
//
//go:embed docs/index.html docs/init.js
//go:embed docs/swagger-ui-bundle.js docs/swagger-ui.css
//go:embed docs/LICENSE docs/NOTICE docs/swagger-ui-bundle.js.LICENSE.txt
var docsFS embed.FS

// docsCSP lets the page load its own scripts, styles and the OpenAPI
// document and nothing else. Swagger UI sets inline style attributes and
// draws icons from data: URIs; it needs no inline script and no eval.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// docsAssetFiles are the files served at /docs/assets/{file}.
var docsAssetFiles = []string{
	"swagger-ui-bundle.js", "swagger-ui.css", "init.js",
	"LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt",
}

type docsAssetFile struct {
	body        []byte
	contentType string
	version     string // a hash of body: the ?v= of the page's links
	etag        string
}

type docsBundle struct {
	page   []byte
	assets map[string]docsAssetFile
}

// docs loads the embedded files on first use, not at start-up: most
// processes never serve the page.
var docs = sync.OnceValue(func() docsBundle {
	b := docsBundle{assets: map[string]docsAssetFile{}}
	for _, name := range docsAssetFiles {
		body, err := docsFS.ReadFile("docs/" + name)
		if err != nil {
			panic(err) // go:embed guarantees the files
		}
		sum := sha256.Sum256(body)
		v := hex.EncodeToString(sum[:8])
		ct := "text/plain; charset=utf-8"
		switch path.Ext(name) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		}
		b.assets[name] = docsAssetFile{body: body, contentType: ct, version: v, etag: `"` + v + `"`}
	}
	// Links carry the file's hash, so browsers may cache them for good and
	// still fetch the new file after an upgrade. They are relative to /docs,
	// so the page works behind a path prefix too.
	link := func(name string) string { return "docs/assets/" + name + "?v=" + b.assets[name].version }
	tmpl := template.Must(template.ParseFS(docsFS, "docs/index.html"))
	var page bytes.Buffer
	if err := tmpl.Execute(&page, map[string]string{
		"CSS": link("swagger-ui.css"), "Bundle": link("swagger-ui-bundle.js"), "Init": link("init.js"),
	}); err != nil {
		panic(err)
	}
	b.page = page.Bytes()
	return b
})

// docsPage serves the interactive documentation of /openapi.json.
func (s *server) docsPage(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", docsCSP)
	w.Write(docs().page)
	return nil
}

// docsAsset serves a file of the documentation page; ENotFound for any other
// name. A link with the file's current ?v= hash may be cached for a year;
// other requests revalidate with the ETag.
func (s *server) docsAsset(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	a, ok := docs().assets[name]
	if !ok {
		return auth.Errorf(auth.ENotFound, "no such documentation file")
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	if strings.EqualFold(r.URL.Query().Get("v"), a.version) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	return nil
}
