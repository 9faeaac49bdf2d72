package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"net/netip"
	"testing"
)

func ecdhPublicP256(uncompressed []byte) (*ecdsa.PublicKey, error) {
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), uncompressed)
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
