package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// A remembered-device token proves that a device signed in to an account
// before (SPEC §9), so that strangers' failed logins don't lock it out. It
// is
//
//	version (1) | user id (16) | device id (32 random bytes) | expiry (8, Unix seconds) | MAC (32)
//
// base64url-encoded, where MAC is HMAC-SHA256 under a key derived from the
// service secret over the rest and the normalised email. The email lets
// Login check the token before it reads anything (refused attempts stay
// free of database reads); the user id, checked once the user is read,
// binds it to the account rather than to whoever holds the address later.
//
// It is verified, never stored: it grants no access, only decides which
// failure count an attempt is taken from, so a stolen one is worth one more
// device's budget (LoginAccount) and no revocation list is needed. Rotating
// the service secret forgets every device.
const (
	deviceVersion    = 1
	deviceIDLen      = 32
	devicePayloadLen = 1 + 16 + deviceIDLen + 8
	deviceTokenLen   = devicePayloadLen + sha256.Size
)

var deviceEncoding = base64.RawURLEncoding

// DeviceTokenTTL is how long a remembered-device token is valid. Every
// sign-in with a valid one renews it.
const DeviceTokenTTL = 90 * 24 * time.Hour

// device is what a valid remembered-device token proves.
type device struct {
	userID string
	id     [deviceIDLen]byte
}

// deviceKey derives the key of remembered-device tokens from the service
// secret. Without a secret, a random key remembers devices until the
// process ends.
func deviceKey(secret []byte) []byte {
	if len(secret) == 0 {
		k := make([]byte, 32)
		rand.Read(k)
		return k
	}
	k, err := hkdf.Key(sha256.New, secret, nil, "authd remembered device v1", 32)
	if err != nil {
		// HKDF-SHA256 fails only for keys longer than 255 × 32 bytes.
		panic(fmt.Sprintf("auth: derive the device key: %v", err))
	}
	return k
}

// rememberDevice returns a token for the device signing in as userID with
// the normalised email, and its expiry: a new device, or d renewed.
func (s *core) rememberDevice(userID, email string, d *device) (string, time.Time, error) {
	uid, err := uuid.Parse(userID)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("device token for user %q: %w", userID, err)
	}
	b := make([]byte, deviceTokenLen)
	b[0] = deviceVersion
	copy(b[1:17], uid[:])
	if d != nil {
		copy(b[17:17+deviceIDLen], d.id[:])
	} else {
		rand.Read(b[17 : 17+deviceIDLen])
	}
	expires := s.now().Add(DeviceTokenTTL).Truncate(time.Second)
	binary.BigEndian.PutUint64(b[17+deviceIDLen:devicePayloadLen], uint64(expires.Unix()))
	copy(b[devicePayloadLen:], s.deviceMAC(b[:devicePayloadLen], email))
	return deviceEncoding.EncodeToString(b), expires, nil
}

// checkDevice returns the device raw proves for the account with the
// normalised email, or nil when it proves none: malformed, altered,
// expired, issued for another address or by another secret.
func (s *core) checkDevice(raw, email string) *device {
	if len(raw) != deviceEncoding.EncodedLen(deviceTokenLen) {
		return nil
	}
	// The decoder skips '\r' and '\n': a string of the right length can
	// still decode short, or to nothing.
	b, err := deviceEncoding.DecodeString(raw)
	if err != nil || len(b) != deviceTokenLen || b[0] != deviceVersion {
		return nil
	}
	if !hmac.Equal(b[devicePayloadLen:], s.deviceMAC(b[:devicePayloadLen], email)) {
		return nil
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(b[17+deviceIDLen:devicePayloadLen])), 0)
	if !s.now().Before(expires) {
		return nil
	}
	d := &device{userID: uuid.UUID(b[1:17]).String()}
	copy(d.id[:], b[17:17+deviceIDLen])
	return d
}

func (s *core) deviceMAC(payload []byte, email string) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write(payload)
	m.Write([]byte(email))
	return m.Sum(nil)
}
