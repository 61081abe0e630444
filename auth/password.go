package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes), so a
// burst of logins cannot exhaust the server's memory.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

var b64 = base64.RawStdEncoding

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("password must not be empty")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// dummyHash is verified against when the user does not exist, so that the
// time a failed login takes does not reveal which names exist. It is a
// constant, made once with HashPassword("ferry-no-such-user") and the
// parameters above (TestDummyHashParameters keeps them equal): computed
// at package init it cost every ferry command, the client's included, one
// argon2id hash (141 ms here, GODEBUG=inittrace=1), and computed at the
// server's start it competed with the first logins for the CPU.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$b9+POgxeyiJ4oQAq/t8u/A$3oNg/wgKQNLAzVF5fbushAZnluLiNrZQHVOVoGVkueo"

// CheckPassword reports whether password matches an argon2id or bcrypt hash.
func CheckPassword(hash, password string) bool {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return checkArgon2id(hash, password)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	return false
}

func checkArgon2id(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return false
	}
	var version int
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil {
		return false
	}
	if mem == 0 || mem > 1<<20 || iter == 0 || iter > 16 || threads == 0 {
		return false
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, iter, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
