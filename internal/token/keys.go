package token

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/talentforge/authd/internal/auth"
)

// Signing algorithms (JWA names, RFC 7518 and RFC 8037) that Config.Algorithm
// accepts and auth.SigningKey.Algorithm holds.
const (
	ES256 = "ES256" // ECDSA on P-256 with SHA-256: the default, small and fast
	EdDSA = "EdDSA" // Ed25519
	RS256 = "RS256" // RSA PKCS #1 v1.5 with SHA-256, 2048-bit keys, for verifiers that know nothing else
)

// rsaBits is the size of generated RSA keys. 2048 bits is NIST's minimum
// through 2030; 3072 would cost about five times as much to generate (seconds
// on a busy machine) and each RS256 signature about three times as much.
const rsaBits = 2048

// sealInfo is the HKDF info string of the sealing key. Changing the sealing
// scheme means a new info string, so that old and new blobs can't be confused.
const sealInfo = "authd signing key v1"

// ErrSecretMismatch is wrapped by the error New returns when the service
// secret does not open a stored private key: AUTH_SECRET_KEY differs from the
// one the keys were sealed with (or a sealed key was altered).
var ErrSecretMismatch = errors.New("AUTH_SECRET_KEY does not decrypt the stored signing keys")

// signingMethod returns the jwt signing method of a supported algorithm.
func signingMethod(alg string) (jwt.SigningMethod, error) {
	switch alg {
	case ES256:
		return lowS{jwt.SigningMethodES256}, nil
	case EdDSA:
		return jwt.SigningMethodEdDSA, nil
	case RS256:
		return jwt.SigningMethodRS256, nil
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q (want %s, %s or %s)", alg, ES256, EdDSA, RS256)
}

// lowS is ES256 that writes every signature with s ≤ n/2. An ECDSA signature
// (r, s) verifies as well as (r, n-s), so without a rule each token has a
// twin string; Verify refuses the high one (see highS), and this makes sure
// authd never signs it. Ed25519 (s < L, checked by crypto/ed25519) and RSA
// PKCS #1 v1.5 (deterministic) signatures have one form already.
type lowS struct{ *jwt.SigningMethodECDSA }

func (m lowS) Sign(signingString string, key any) ([]byte, error) {
	sig, err := m.SigningMethodECDSA.Sign(signingString, key)
	if err != nil {
		return nil, err
	}
	if highS(sig) {
		s := sig[32:]
		new(big.Int).Sub(elliptic.P256().Params().N, new(big.Int).SetBytes(s)).FillBytes(s)
	}
	return sig, nil
}

// highS reports whether sig, an ES256 signature r || s, has s > n/2. A
// signature of another length is left to the signature check to refuse.
func highS(sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	half := new(big.Int).Rsh(elliptic.P256().Params().N, 1)
	return new(big.Int).SetBytes(sig[32:]).Cmp(half) > 0
}

// newSealer returns the AEAD that seals private keys: AES-256-GCM under
// HKDF-SHA256(secret, info sealInfo), with a random nonce prefixed to each
// blob by Seal and read back by Open.
func newSealer(secret []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// key is the usable form of a stored key: parsed, unsealed, and its JWK
// prepared. It never changes once made, so key sets built by later reloads
// share it with earlier ones.
type key struct {
	id      string
	alg     string
	method  jwt.SigningMethod
	public  crypto.PublicKey // what jwt's Verify expects for method
	private crypto.Signer    // what jwt's Sign expects for method
	jwk     jwk

	// sealed and publicDER are the stored bytes, kept to recognise the key on
	// reload without unsealing it again.
	sealed    []byte
	publicDER []byte
}

// generateKey makes a key for alg and the record that stores it.
func generateKey(sealer cipher.AEAD, alg string, createdAt, activatesAt time.Time) (*key, *auth.SigningKey, error) {
	method, err := signingMethod(alg)
	if err != nil {
		return nil, nil, err
	}
	var priv crypto.Signer
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s private key: %w", alg, err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s public key: %w", alg, err)
	}
	id := randomID()
	rec := &auth.SigningKey{
		ID:          id,
		Algorithm:   alg,
		PublicKey:   pub,
		PrivateKey:  sealer.Seal(nil, nil, der, []byte(id)),
		CreatedAt:   createdAt,
		ActivatesAt: activatesAt,
	}
	k := &key{id: id, alg: alg, method: method, public: priv.Public(), private: priv, sealed: rec.PrivateKey, publicDER: pub}
	if k.jwk, err = newJWK(k); err != nil {
		return nil, nil, err
	}
	return k, rec, nil
}

// openKey unseals and checks a stored key. It fails with ErrSecretMismatch
// when the sealed private key does not open, and with a plain error when the
// record is inconsistent (unknown algorithm, a private key of another type,
// or a public key that is not the private key's).
func openKey(sealer cipher.AEAD, rec *auth.SigningKey) (*key, error) {
	method, err := signingMethod(rec.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", rec.ID, err)
	}
	der, err := sealer.Open(nil, nil, rec.PrivateKey, []byte(rec.ID))
	if err != nil {
		return nil, fmt.Errorf("%w (key %s: %v)", ErrSecretMismatch, rec.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: parse private key: %w", rec.ID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok || !keyFits(rec.Algorithm, priv) {
		return nil, fmt.Errorf("signing key %s: private key of type %T does not fit algorithm %s", rec.ID, parsed, rec.Algorithm)
	}
	// The public key is stored next to the sealed private key, unauthenticated;
	// deriving it from the private key and comparing catches a row whose
	// columns were mixed up before a wrong key is ever published.
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil || !bytes.Equal(pub, rec.PublicKey) {
		return nil, fmt.Errorf("signing key %s: stored public key does not match the private key", rec.ID)
	}
	k := &key{
		id: rec.ID, alg: rec.Algorithm, method: method,
		public: priv.Public(), private: priv,
		sealed: bytes.Clone(rec.PrivateKey), publicDER: bytes.Clone(rec.PublicKey),
	}
	if k.jwk, err = newJWK(k); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", rec.ID, err)
	}
	return k, nil
}

// keyFits reports whether priv is a key of the kind alg signs with.
func keyFits(alg string, priv crypto.Signer) bool {
	switch p := priv.(type) {
	case *ecdsa.PrivateKey:
		return alg == ES256 && p.Curve == elliptic.P256()
	case ed25519.PrivateKey:
		return alg == EdDSA
	case *rsa.PrivateKey:
		return alg == RS256 && p.N.BitLen() >= 2048
	}
	return false
}

// sameStored reports whether k was made from rec's bytes, so a reload can
// reuse it instead of unsealing and parsing again.
func (k *key) sameStored(rec *auth.SigningKey) bool {
	return k.id == rec.ID && k.alg == rec.Algorithm &&
		bytes.Equal(k.sealed, rec.PrivateKey) && bytes.Equal(k.publicDER, rec.PublicKey)
}

// randomID returns 128 random bits, base64url without padding (22 characters):
// the format of key ids and token ids.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// looksLikeID reports whether s has the format randomID produces. Tokens whose
// kid could never be ours don't get to trigger a reload.
func looksLikeID(s string) bool {
	if len(s) != 22 {
		return false
	}
	return !strings.ContainsFunc(s, notBase64URL)
}

// notBase64URL reports whether r is outside the unpadded base64url alphabet
// of key ids, token ids and JWT segments.
func notBase64URL(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
}

// jwk is a public key in JSON Web Key form (RFC 7517, RFC 7518 §6, RFC 8037).
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

func newJWK(k *key) (jwk, error) {
	j := jwk{Use: "sig", Kid: k.id, Alg: k.alg}
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := k.public.(type) {
	case *ecdsa.PublicKey:
		// The uncompressed point is 0x04 || X || Y with both coordinates
		// padded to 32 bytes, the fixed width RFC 7518 §6.2.1.2 requires.
		point, err := pub.Bytes()
		if err != nil || len(point) != 65 {
			return jwk{}, fmt.Errorf("encode P-256 public key: %v", err)
		}
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(point[1:33]), b64(point[33:])
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	default:
		return jwk{}, fmt.Errorf("no JWK form for %T", pub)
	}
	return j, nil
}

// entry is a key in a key set with the times its place in the set gives it.
type entry struct {
	*key
	createdAt   time.Time
	activatesAt time.Time
	// retiresAt is the ActivatesAt of the next key: from then on this key
	// signs nothing. Zero for the last key.
	retiresAt time.Time
	// unpublishAt is retiresAt + AccessTTL + Leeway: every token the key
	// signed has expired by then, so it leaves the JWKS and stops verifying.
	// Zero for the last key.
	unpublishAt time.Time
}

// publishedAt reports whether e is in the JWKS, and verifies tokens, at now.
func (e *entry) publishedAt(now time.Time) bool {
	return e.unpublishAt.IsZero() || now.Before(e.unpublishAt)
}

// keySet is an immutable snapshot of the keys. Readers load it from an
// atomic pointer without locking; a reload or a rotation builds a new one.
type keySet struct {
	entries []*entry // ordered by activatesAt, then id
	byID    map[string]*entry
	// parser verifies tokens against this set: its algorithm list is the
	// configured algorithm plus those of the keys published when the set was
	// built.
	parser *jwt.Parser
}

// newKeySet orders entries and derives their retirement times. It works on
// copies: the entries of a published set are read concurrently.
func (m *Manager) newKeySet(in []*entry) *keySet {
	entries := make([]*entry, len(in))
	for i, e := range in {
		c := *e
		entries[i] = &c
	}
	slices.SortFunc(entries, func(a, b *entry) int {
		if c := a.activatesAt.Compare(b.activatesAt); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	s := &keySet{entries: entries, byID: make(map[string]*entry, len(entries))}
	for i, e := range entries {
		e.retiresAt, e.unpublishAt = time.Time{}, time.Time{}
		if i+1 < len(entries) {
			e.retiresAt = entries[i+1].activatesAt
			e.unpublishAt = e.retiresAt.Add(m.cfg.AccessTTL + m.cfg.Leeway)
		}
		s.byID[e.id] = e
	}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods(s.algorithms(m.cfg.Algorithm, m.now())),
		jwt.WithIssuer(m.cfg.Issuer),
		jwt.WithAudience(m.cfg.Audience),
		jwt.WithLeeway(m.cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(m.cfg.Now),
		// Strict base64 rejects non-canonical encodings, so a token has one
		// spelling only (a signature with flipped padding bits is not "the
		// same" token).
		jwt.WithStrictDecoding(),
	)
	return s
}

// current returns the key that signs at now: the last one whose ActivatesAt
// has passed, or nil if there is none.
func (s *keySet) current(now time.Time) *entry {
	for i := len(s.entries) - 1; i >= 0; i-- {
		if !s.entries[i].activatesAt.After(now) {
			return s.entries[i]
		}
	}
	return nil
}

// pending reports whether a key activates after now.
func (s *keySet) pending(now time.Time) bool {
	return len(s.entries) > 0 && s.entries[len(s.entries)-1].activatesAt.After(now)
}

// published returns the keys in the JWKS at now, and the time until which
// that stays so (zero: until the set changes).
func (s *keySet) published(now time.Time) (keys []*entry, until time.Time) {
	for _, e := range s.entries {
		if !e.publishedAt(now) {
			continue
		}
		keys = append(keys, e)
		if !e.unpublishAt.IsZero() && (until.IsZero() || e.unpublishAt.Before(until)) {
			until = e.unpublishAt
		}
	}
	return keys, until
}

// algorithms returns first, then the other algorithms of the keys published
// at now, each once.
func (s *keySet) algorithms(first string, now time.Time) []string {
	algs := []string{first}
	for _, e := range s.entries {
		if e.publishedAt(now) && !slices.Contains(algs, e.alg) {
			algs = append(algs, e.alg)
		}
	}
	return algs
}
