package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"

	"github.com/talentforge/authd/internal/auth"
)

// maxBodyBytes is the largest request body accepted (SPEC §6).
const maxBodyBytes = 64 << 10

// decode reads a JSON object from r's body into dst. Unknown fields are
// ignored; anything else unexpected (another content type, malformed JSON,
// trailing data, a body over 64 KiB, a value of the wrong type) is a clear
// client error. When optional is true an empty body leaves dst untouched.
func decode(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	if optional && r.ContentLength == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return auth.Errorf(codeUnsupportedMediaType, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, optional)
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeError(err, optional)
		}
		return auth.Errorf(auth.EInvalid, "request body must contain a single JSON object")
	}
	return nil
}

func decodeError(err error, optional bool) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return auth.Errorf(codePayloadTooLarge, "request body is larger than %d bytes", maxBodyBytes)
	case errors.Is(err, io.EOF):
		if optional {
			return nil
		}
		return auth.Errorf(auth.EInvalid, "request body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return auth.Errorf(auth.EInvalid, "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return auth.Errorf(auth.EInvalid, "request body must be a JSON object")
		}
		return auth.Errorf(auth.EInvalid, "field %q must be of type %s", typ.Field, jsonType(typ.Type))
	default:
		return auth.Errorf(auth.EInvalid, "request body could not be read")
	}
}

// jsonType names the JSON type a Go field expects, for error messages.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "object"
	}
}

// writeJSON writes v as the JSON response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, status, "application/json", v)
}

// writeJSONAs writes v as JSON with the given media type.
func writeJSONAs(w http.ResponseWriter, status int, mediaType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own wire types reach here; a failure is a bug.
		http.Error(w, `{"error":{"code":"internal","message":"An internal error occurred."}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
