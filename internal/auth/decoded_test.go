package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestDecodedOnlyForTheSameBytes(t *testing.T) {
	d := newDecoded(4, (*sessionState).clone)
	st := &sessionState{Found: true, ExpiresAt: time.Unix(2_000_000_000, 0), User: &User{ID: "u1", Status: StatusActive, Roles: []string{"user"}}}
	d.put("u1\x00s:a", []byte(`{"f":true,"v":1}`), st)

	got, ok := d.get("u1\x00s:a", []byte(`{"f":true,"v":1}`))
	if !ok || got.User.ID != "u1" || !got.Found || got == st || got.User == st.User {
		t.Fatalf("get with the same bytes = %+v, %v; want a copy of what was put", got, ok)
	}
	// The entry changed (a revocation, say): what it decoded to before
	// must not be returned.
	if _, ok := d.get("u1\x00s:a", []byte(`{"f":true,"r":"2030-01-01T00:00:00Z"}`)); ok {
		t.Fatal("get returned a value decoded from other bytes")
	}
	if _, ok := d.get("u1\x00s:b", []byte(`{"f":true,"v":1}`)); ok {
		t.Fatal("get returned a value put under another key")
	}
}

func TestDecodedHandsOutCopies(t *testing.T) {
	d := newDecoded(4, (*sessionState).clone)
	raw := []byte(`{}`)
	d.put("k", raw, &sessionState{Found: true, User: &User{ID: "u1", Status: StatusActive, Roles: []string{"user"}}})
	first, _ := d.get("k", raw)
	first.Found = false
	first.User.Status = StatusDisabled
	first.User.Roles[0] = "admin"
	second, _ := d.get("k", raw)
	if !second.Found || second.User.Status != StatusActive || second.User.Roles[0] != "user" {
		t.Fatalf("a caller's change to its copy reached the next caller: %+v %+v", second, second.User)
	}
}

func TestDecodedIsBounded(t *testing.T) {
	d := newDecoded(4, (*sessionState).clone)
	for i := range 100 {
		d.put(fmt.Sprint(i), []byte("x"), &sessionState{})
	}
	if n := len(d.m); n != 4 {
		t.Fatalf("%d entries kept, want the bound of 4", n)
	}
}
