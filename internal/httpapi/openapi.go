package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/invopop/jsonschema"

	"github.com/talentforge/authd/internal/auth"
)

// apiVersion is the version of the API the OpenAPI document describes
// (info.version). Bump it when an endpoint or a wire type changes.
const apiVersion = "1.2.0"

const apiDescription = `authd is an authentication service: accounts, sessions, JWT access tokens with
rotating refresh tokens, roles and permissions, service clients, and the OAuth 2.0
token, introspection and revocation endpoints.

**Authentication.** Most endpoints take a user's access token as
` + "`Authorization: Bearer <token>`" + ` (from register, login, refresh or the token endpoint).
Administration endpoints also need a permission, named in the operation's description
and in its ` + "`x-required-permission`" + ` extension. The introspection and revocation
endpoints authenticate a service client instead: HTTP Basic (client_secret_basic) or
` + "`client_id`/`client_secret`" + ` in the body (client_secret_post).

**Requests.** JSON bodies (at most 64 KiB) are objects; unknown fields are ignored.
The OAuth endpoints also accept application/x-www-form-urlencoded.

**Lockouts.** Failed sign-ins are counted per account and client IP (IPv6 clients per /64):
past the limit, that IP gets 429 with Retry-After for that account. A sign-in returns a
` + "`device_token`" + ` (browsers also get it as an HttpOnly cookie); sent back with the next sign-in,
it keeps the device from being locked out by other people's failed attempts.

**Errors.** API v1 answers ` + "`{\"error\": {\"code\", \"message\", \"request_id\", \"trace_id\"}}`" + ` with a stable
machine-readable code; API v2 answers RFC 9457 application/problem+json with the same
code; the OAuth endpoints answer RFC 6749 §5.2 ` + "`{\"error\", \"error_description\"}`" + `.
Every response carries an ` + "`X-Request-ID`" + ` header; ` + "`trace_id`" + ` (v1 and v2) is the W3C trace
id of the request when it is traced or the caller sent a ` + "`traceparent`" + `.`

// tagDescriptions describe the route table's tags; tags are listed in the
// order they first appear in the table.
var tagDescriptions = map[string]string{
	"auth":       "Accounts and sessions (API v1)",
	"social":     "Sign-in with a social provider (Google, GitHub, OpenID Connect) and the caller's linked accounts (API v1)",
	"users":      "The caller's own account (API v1)",
	"admin":      "Administration of users, roles and the audit log; each operation needs a permission",
	"oauth":      "OAuth 2.0 endpoints (RFC 6749, RFC 7662, RFC 7009)",
	"clients":    "Service clients for machine-to-machine access (API v2)",
	"discovery":  "Well-known documents and this documentation",
	"operations": "Health, readiness and metrics",
}

// Security scheme names in components.securitySchemes.
const (
	schemeBearer      = "bearerAuth"
	schemeClientBasic = "clientBasic"
)

// buildOpenAPI returns the OpenAPI 3.1 document of s.table as JSON. It is
// built once, at startup; the output depends only on the table and the
// issuer, so two builds are byte-for-byte equal. A wire type that can't be
// described (a channel, a func) is a programming error and panics.
func (s *server) buildOpenAPI() []byte {
	doc := newOpenAPI(s.table, s.issuer)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		panic(fmt.Sprintf("httpapi: encoding the OpenAPI document: %v", err))
	}
	// The reflector refers to named types as #/$defs/<name>; the document
	// keeps them in components.schemas. The key-value prefix is unambiguous:
	// strings inside descriptions are escaped and can't contain it.
	return bytes.ReplaceAll(buf.Bytes(), []byte(`"$ref":"#/$defs/`), []byte(`"$ref":"#/components/schemas/`))
}

// openAPIDocument serves the document buildOpenAPI made.
func (s *server) openAPIDocument(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openAPI)
	return nil
}

// The subset of OpenAPI 3.1 authd uses. Field order is output order.
type (
	oaDocument struct {
		OpenAPI    string                             `json:"openapi"`
		Info       oaInfo                             `json:"info"`
		Servers    []oaServer                         `json:"servers,omitempty"`
		Tags       []oaTag                            `json:"tags,omitempty"`
		Paths      map[string]map[string]*oaOperation `json:"paths"`
		Components oaComponents                       `json:"components"`
	}
	oaInfo struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
	}
	oaServer struct {
		URL string `json:"url"`
	}
	oaTag struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}
	oaOperation struct {
		Tags        []string              `json:"tags,omitempty"`
		Summary     string                `json:"summary,omitempty"`
		Description string                `json:"description,omitempty"`
		OperationID string                `json:"operationId"`
		Parameters  []oaParameter         `json:"parameters,omitempty"`
		RequestBody *oaRequestBody        `json:"requestBody,omitempty"`
		Responses   map[string]oaResponse `json:"responses"`
		Security    []map[string][]string `json:"security,omitempty"`
		Permission  string                `json:"x-required-permission,omitempty"`
	}
	oaParameter struct {
		Name        string             `json:"name"`
		In          string             `json:"in"`
		Description string             `json:"description,omitempty"`
		Required    bool               `json:"required,omitempty"`
		Schema      *jsonschema.Schema `json:"schema"`
	}
	oaRequestBody struct {
		Required bool                   `json:"required,omitempty"`
		Content  map[string]oaMediaType `json:"content"`
	}
	oaMediaType struct {
		Schema *jsonschema.Schema `json:"schema,omitempty"`
	}
	oaResponse struct {
		Description string                 `json:"description"`
		Headers     map[string]oaRef       `json:"headers,omitempty"`
		Content     map[string]oaMediaType `json:"content,omitempty"`
	}
	oaRef struct {
		Ref string `json:"$ref"`
	}
	oaHeader struct {
		Description string             `json:"description"`
		Schema      *jsonschema.Schema `json:"schema"`
	}
	oaSecurityScheme struct {
		Type         string `json:"type"`
		Scheme       string `json:"scheme"`
		BearerFormat string `json:"bearerFormat,omitempty"`
		Description  string `json:"description,omitempty"`
	}
	oaComponents struct {
		Schemas         map[string]*jsonschema.Schema `json:"schemas"`
		Headers         map[string]oaHeader           `json:"headers"`
		SecuritySchemes map[string]oaSecurityScheme   `json:"securitySchemes"`
	}
)

// newOpenAPI describes table.
func newOpenAPI(table []route, issuer string) *oaDocument {
	doc := &oaDocument{
		OpenAPI: "3.1.0",
		Info:    oaInfo{Title: "authd", Version: apiVersion, Description: apiDescription},
		Paths:   map[string]map[string]*oaOperation{},
		Components: oaComponents{
			Headers: map[string]oaHeader{
				"Retry-After": {
					Description: "Seconds to wait before trying again.",
					Schema:      &jsonschema.Schema{Type: "integer", Minimum: "1"},
				},
				"WWW-Authenticate": {
					Description: "The authentication scheme to use: Bearer for user tokens, Basic for service clients.",
					Schema:      &jsonschema.Schema{Type: "string"},
				},
			},
			SecuritySchemes: map[string]oaSecurityScheme{
				schemeBearer: {
					Type: "http", Scheme: "bearer", BearerFormat: "JWT",
					Description: "A user's access token, from register, login, refresh or the token endpoint.",
				},
				schemeClientBasic: {
					Type: "http", Scheme: "basic",
					Description: "A service client's client_id and client_secret (client_secret_basic, RFC 6749 §2.3.1). " +
						"Alternatively, send them as client_id and client_secret in the body (client_secret_post).",
				},
			},
		},
	}
	if issuer != "" {
		doc.Servers = []oaServer{{URL: issuer}}
	}

	g := newSchemaGen()
	// Responses first, so that a type used both ways keeps its plain name
	// for its response form (see schemaGen.name).
	for i := range table {
		if table[i].response != nil {
			g.schema(table[i].response, false)
		}
	}
	for _, v := range []any{errorBody{}, problemJSON{}, oauthErrorJSON{}} {
		g.schema(v, false)
	}

	// A header two routes describe differently (Set-Cookie: the device
	// cookie, the social sign-in cookie) gets a component per description.
	headerRefs := map[string]string{} // name + "\x00" + description → component
	for i := range table {
		for _, name := range slices.Sorted(maps.Keys(table[i].headers)) {
			desc := table[i].headers[name]
			key := name + "\x00" + desc
			if headerRefs[key] != "" {
				continue
			}
			comp := name
			for n := 2; ; n++ {
				if _, taken := doc.Components.Headers[comp]; !taken {
					break
				}
				comp = name + "-" + strconv.Itoa(n)
			}
			headerRefs[key] = comp
			doc.Components.Headers[comp] = oaHeader{Description: desc, Schema: &jsonschema.Schema{Type: "string"}}
		}
	}

	seenTag := map[string]bool{}
	for i := range table {
		rt := &table[i]
		if rt.tag != "" && !seenTag[rt.tag] {
			seenTag[rt.tag] = true
			doc.Tags = append(doc.Tags, oaTag{Name: rt.tag, Description: tagDescriptions[rt.tag]})
		}
		path, params := openAPIPath(rt.path)
		item := doc.Paths[path]
		if item == nil {
			item = map[string]*oaOperation{}
			doc.Paths[path] = item
		}
		method := strings.ToLower(rt.method)
		if item[method] != nil {
			panic(fmt.Sprintf("httpapi: %s is in the route table twice", rt.pattern()))
		}
		item[method] = g.operation(rt, path, params, headerRefs)
	}
	doc.Components.Schemas = g.defs
	return doc
}

var (
	pathParam     = regexp.MustCompile(`\{([^}]*)\}`)
	qualifiedName = regexp.MustCompile(`[\w./-]*\.`) // a package path and dot in a type argument
)

// openAPIPath turns a ServeMux pattern path into an OpenAPI path and its
// parameter names: {name...} becomes {name}, and the {$} end anchor goes.
func openAPIPath(p string) (string, []string) {
	var names []string
	p = pathParam.ReplaceAllStringFunc(p, func(m string) string {
		name := strings.TrimSuffix(m[1:len(m)-1], "...")
		if name == "$" {
			return ""
		}
		names = append(names, name)
		return "{" + name + "}"
	})
	return p, names
}

// operationID derives a stable identifier from the method and path:
// DELETE /api/v1/users/{id} is deleteApiV1UsersById.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for seg := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(seg, "{") {
			b.WriteString("By")
		}
		for word := range strings.FieldsFuncSeq(seg, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String()
}

func (g *schemaGen) operation(rt *route, path string, params []string, headerRefs map[string]string) *oaOperation {
	op := &oaOperation{
		Summary:     rt.summary,
		OperationID: operationID(rt.method, path),
		Responses:   map[string]oaResponse{},
		Permission:  string(rt.perm),
	}
	if rt.tag != "" {
		op.Tags = []string{rt.tag}
	}
	var desc []string
	if rt.perm != "" {
		desc = append(desc, fmt.Sprintf("Requires the `%s` permission.", rt.perm))
	}
	switch rt.access {
	case bearer:
		op.Security = []map[string][]string{{schemeBearer: {}}}
	case client, optionalClient:
		// Basic, or no header at all with the credentials in the body.
		op.Security = []map[string][]string{{schemeClientBasic: {}}, {}}
		how := "Authenticate the service client"
		if rt.access == optionalClient {
			how = "Service clients authenticate (required for client_credentials)"
		}
		desc = append(desc, how+" with HTTP Basic (client_secret_basic), "+
			"or with `client_id` and `client_secret` in the body (client_secret_post).")
	}
	if rt.doc != "" {
		desc = append(desc, rt.doc)
	}
	op.Description = strings.Join(desc, "\n\n")

	for _, name := range params {
		op.Parameters = append(op.Parameters, oaParameter{
			Name: name, In: "path", Required: true, Schema: &jsonschema.Schema{Type: "string"},
		})
	}
	if rt.query != nil {
		op.Parameters = append(op.Parameters, queryParameters(rt.query)...)
	}

	if rt.body != nil {
		s := g.schema(rt.body, true)
		body := &oaRequestBody{Required: !rt.optional, Content: map[string]oaMediaType{
			"application/json": {Schema: s},
		}}
		if rt.form {
			body.Content["application/x-www-form-urlencoded"] = oaMediaType{Schema: s}
		}
		op.RequestBody = body
	}

	success := oaResponse{Description: http.StatusText(rt.status)}
	mediaType := rt.content
	if mediaType == "" {
		mediaType = "application/json"
	}
	switch {
	case rt.response != nil:
		success.Content = map[string]oaMediaType{mediaType: {Schema: g.schema(rt.response, false)}}
	case rt.content != "":
		success.Content = map[string]oaMediaType{mediaType: {Schema: &jsonschema.Schema{Type: "string"}}}
	}
	for name := range rt.headers {
		if success.Headers == nil {
			success.Headers = map[string]oaRef{}
		}
		success.Headers[name] = oaRef{Ref: "#/components/headers/" + headerRefs[name+"\x00"+rt.headers[name]]}
	}
	op.Responses[strconv.Itoa(rt.status)] = success
	for _, status := range rt.also {
		also := success
		also.Description = http.StatusText(status)
		op.Responses[strconv.Itoa(status)] = also
	}

	errType, errMedia := any(errorBody{}), "application/json"
	switch rt.style {
	case errorsProblem:
		errType, errMedia = problemJSON{}, "application/problem+json"
	case errorsOAuth:
		errType = oauthErrorJSON{}
	}
	for _, status := range rt.errors {
		res := oaResponse{
			Description: http.StatusText(status),
			Content:     map[string]oaMediaType{errMedia: {Schema: g.schema(errType, false)}},
		}
		switch status {
		case http.StatusUnauthorized:
			res.Headers = map[string]oaRef{"WWW-Authenticate": {Ref: "#/components/headers/WWW-Authenticate"}}
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			res.Headers = map[string]oaRef{"Retry-After": {Ref: "#/components/headers/Retry-After"}}
		}
		op.Responses[strconv.Itoa(status)] = res
	}
	for _, status := range rt.pages {
		op.Responses[strconv.Itoa(status)] = oaResponse{
			Description: http.StatusText(status) + " (a page for the browser, not JSON)",
			Content:     map[string]oaMediaType{"text/html": {Schema: &jsonschema.Schema{Type: "string"}}},
		}
	}
	return op
}

// queryParameters describes the fields of the struct q that have a `query`
// tag ("name" or "name,required"), with their `doc` tags as descriptions.
func queryParameters(q any) []oaParameter {
	t := reflect.TypeOf(q)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []oaParameter
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("query")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		out = append(out, oaParameter{
			Name:        name,
			In:          "query",
			Description: f.Tag.Get("doc"),
			Required:    slices.Contains(strings.Split(opts, ","), "required"),
			Schema:      querySchema(f.Type),
		})
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

func querySchema(t reflect.Type) *jsonschema.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return &jsonschema.Schema{Type: "string", Format: "date-time"}
	case t.Kind() == reflect.Bool:
		return &jsonschema.Schema{Type: "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return &jsonschema.Schema{Type: "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return &jsonschema.Schema{Type: "number"}
	case t.Kind() == reflect.Slice:
		return &jsonschema.Schema{Type: "array", Items: querySchema(t.Elem())}
	}
	return &jsonschema.Schema{Type: "string"}
}

// schemaGen turns Go wire types into JSON Schema (draft 2020-12, the
// dialect of OpenAPI 3.1) and collects every named type in defs.
//
// Responses and requests differ in two ways. In a response every field
// without omitempty is required (it is always written), and a pointer field
// without omitempty is nullable. In a request nothing is required unless
// tagged `jsonschema:"required"` (missing fields are zero values the handler
// judges), and every pointer field is nullable (null leaves it unset).
type schemaGen struct {
	defs   map[string]*jsonschema.Schema
	names  map[nameKey]string
	taken  map[string]bool
	output map[reflect.Type]bool // types seen in responses
}

type nameKey struct {
	t       reflect.Type
	request bool
}

func newSchemaGen() *schemaGen {
	return &schemaGen{
		defs:   map[string]*jsonschema.Schema{},
		names:  map[nameKey]string{},
		taken:  map[string]bool{},
		output: map[reflect.Type]bool{},
	}
}

// schema returns the schema of v's type: a reference for named types.
func (g *schemaGen) schema(v any, request bool) *jsonschema.Schema {
	t := reflect.TypeOf(v)
	r := &jsonschema.Reflector{
		Anonymous:                  true,
		AllowAdditionalProperties:  true, // unknown fields are ignored
		RequiredFromJSONSchemaTags: request,
		Namer:                      func(t reflect.Type) string { return g.name(t, request) },
		LookupComment:              docTag,
		Mapper:                     errorCodeSchema,
	}
	root := r.ReflectFromType(t)
	defs := root.Definitions
	root.Definitions, root.Version = nil, ""
	seen := map[string]bool{}
	markNullable(t, root, defs, request, seen)
	for name, def := range defs {
		g.defs[name] = def
	}
	return root
}

// name is the component name of t: the Go name without a JSON suffix and
// with a capital, so userJSON is User. A type that requests and responses
// share gets an Input suffix in requests, since its two schemas differ. The
// Namer sees unnamed types too; they stay inline.
func (g *schemaGen) name(t reflect.Type, request bool) string {
	if t.Name() == "" || t == timeType {
		return ""
	}
	if !request {
		g.output[t] = true
	}
	key := nameKey{t, request && g.output[t]}
	if n, ok := g.names[key]; ok {
		return n
	}
	base := t.Name()
	if i := strings.IndexByte(base, '['); i >= 0 {
		// Generic instantiation: page[pkg/path.userJSON] becomes pageUserJSON.
		args := qualifiedName.ReplaceAllString(base[i:], "")
		base = base[:i] + strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return r
			}
			return -1
		}, strings.ToUpper(args[:2])+args[2:])
	}
	if n := strings.TrimSuffix(base, "JSON"); n != "" {
		base = n
	}
	base = strings.ToUpper(base[:1]) + base[1:]
	if key.request {
		base += "Input"
	}
	n := base
	for i := 2; g.taken[n]; i++ {
		n = base + strconv.Itoa(i) // another package's type of the same name
	}
	g.taken[n] = true
	g.names[key] = n
	return n
}

// docTag is the description of a field: its `doc` tag.
func docTag(t reflect.Type, field string) string {
	if field == "" || t.Kind() != reflect.Struct {
		return ""
	}
	f, ok := t.FieldByName(field)
	if !ok {
		return ""
	}
	return f.Tag.Get("doc")
}

// markNullable walks s alongside the Go type t it describes and lets the
// pointer fields that can be null accept null.
func markNullable(t reflect.Type, s *jsonschema.Schema, defs jsonschema.Definitions, request bool, seen map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s == nil {
		return
	}
	if s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/$defs/")
		if !seen[name] {
			seen[name] = true
			markNullable(t, defs[name], defs, request, seen)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == timeType || s.Properties == nil {
			return
		}
		for _, f := range reflect.VisibleFields(t) {
			name, omit, ok := jsonField(f)
			if !ok {
				continue
			}
			p, ok := s.Properties.Get(name)
			if !ok {
				continue
			}
			markNullable(f.Type, p, defs, request, seen)
			if f.Type.Kind() == reflect.Pointer && (request || !omit) {
				s.Properties.Set(name, nullable(p))
			}
		}
	case reflect.Slice, reflect.Array:
		markNullable(t.Elem(), s.Items, defs, request, seen)
	case reflect.Map:
		if s.AdditionalProperties != nil && s.AdditionalProperties != jsonschema.TrueSchema && s.AdditionalProperties != jsonschema.FalseSchema {
			markNullable(t.Elem(), s.AdditionalProperties, defs, request, seen)
		}
	}
}

// jsonField returns the JSON name of a struct field and whether it is left
// out when empty; ok is false for fields encoding/json skips or inlines.
func jsonField(f reflect.StructField) (name string, omit, ok bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if f.Anonymous && name == "" {
		return "", false, false // embedded: its fields are promoted
	}
	if !f.IsExported() {
		return "", false, false
	}
	if name == "" {
		name = f.Name
	}
	for o := range strings.SplitSeq(opts, ",") {
		if o == "omitempty" || o == "omitzero" {
			omit = true
		}
	}
	return name, omit, true
}

// nullable returns s widened to accept null.
func nullable(s *jsonschema.Schema) *jsonschema.Schema {
	if s.Ref == "" && s.Type != "" && s.Type != "null" {
		if s.Extras == nil {
			s.Extras = map[string]any{}
		}
		s.Extras["type"] = []string{s.Type, "null"}
		s.Type = ""
		return s
	}
	if s.Ref == "" && s.Type == "" {
		return s // accepts anything already, or is nullable by a jsonschema tag
	}
	desc := s.Description
	s.Description = ""
	return &jsonschema.Schema{
		AnyOf:       []*jsonschema.Schema{s, {Type: "null"}},
		Description: desc,
	}
}

// errorCodeSchema lists every error code in the schema of auth.Code, so
// clients see the codes they can branch on.
func errorCodeSchema(t reflect.Type) *jsonschema.Schema {
	if t != reflect.TypeFor[auth.Code]() {
		return nil
	}
	codes := make([]string, 0, len(statusByCode))
	for c := range statusByCode {
		codes = append(codes, string(c))
	}
	slices.Sort(codes)
	s := &jsonschema.Schema{Type: "string", Description: "A stable, machine-readable error code."}
	for _, c := range codes {
		s.Enum = append(s.Enum, c)
	}
	return s
}
