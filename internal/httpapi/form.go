package httpapi

import (
	"net/url"
	"reflect"

	"github.com/talentforge/authd/internal/auth"
)

// setFormFields copies form values into the string fields of the struct dst
// points to, by their `form` tags. A parameter given more than once is
// EInvalid (RFC 6749 §3.2); unknown parameters are ignored, like unknown
// JSON fields.
func setFormFields(dst any, form url.Values) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("form")
		if name == "" {
			continue
		}
		vals := form[name]
		if len(vals) > 1 {
			return auth.Errorf(auth.EInvalid, "parameter %q is given more than once", name)
		}
		if len(vals) == 1 {
			v.Field(i).SetString(vals[0])
		}
	}
	return nil
}
