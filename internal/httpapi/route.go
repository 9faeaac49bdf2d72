package httpapi

import (
	"net/http"

	"github.com/talentforge/authd/internal/auth"
)

// route is one endpoint: how it is served and how it is documented. The
// OpenAPI document is generated from the same table the mux is built from,
// so the two can't drift.
type route struct {
	method  string
	path    string // a net/http pattern path: /api/v1/users/{id}
	summary string // one line for the OpenAPI operation
	doc     string // more of the operation's description, when one line is not enough
	tag     string // the OpenAPI tag grouping the operation

	access access          // who may call it
	perm   auth.Permission // the permission the operation needs ("" for none)

	query    any  // a struct value whose `query:"name"` fields are the query parameters, or nil
	body     any  // the request body's type as a value, or nil for no body
	optional bool // the body may be empty
	form     bool // the body may also be application/x-www-form-urlencoded

	status   int               // the success status
	response any               // the success body's type as a value, or nil for none
	content  string            // the success body's media type when not application/json
	headers  map[string]string // response headers of a success, with their descriptions
	also     []int             // other statuses answered with the success body (readyz's 503)
	errors   []int             // the error statuses the operation documents
	pages    []int             // error statuses answered with a text/html page instead (for a browser)
	style    errorStyle

	serve handlerFunc
}

// access says how a caller authenticates to an endpoint.
type access int

const (
	public         access = iota // anyone
	bearer                       // Authorization: Bearer <a user's access token>
	client                       // a service client: HTTP Basic (client_secret_basic) or client_id/client_secret in the form (client_secret_post)
	optionalClient               // anyone; a service client may authenticate (and must, for some requests) as with client
)

// errorStyle is the shape of an endpoint's error bodies.
type errorStyle int

const (
	errorsV1      errorStyle = iota // {"error": {"code", "message", "request_id"}}
	errorsProblem                   // RFC 9457 application/problem+json
	errorsOAuth                     // RFC 6749 §5.2 {"error", "error_description"}
)

// pattern is the route's net/http ServeMux pattern.
func (rt *route) pattern() string { return rt.method + " " + rt.path }

// errorWriter returns the function that writes the route's errors.
func (s *server) errorWriter(style errorStyle) func(http.ResponseWriter, *http.Request, error) {
	switch style {
	case errorsProblem:
		return s.writeProblem
	case errorsOAuth:
		return s.writeOAuthError
	}
	return s.writeError
}
