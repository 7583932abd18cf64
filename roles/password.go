package roles

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/secure/precis"
)

// scramIterations is PostgreSQL's default (scram_iterations, 4096).
const scramIterations = 4096

// scramVerifier builds the SCRAM-SHA-256 verifier PostgreSQL stores in
// pg_authid.rolpassword. Sending the verifier instead of the password keeps the
// clear text out of the server's statement log and pg_stat_activity: PostgreSQL
// stores a string of this exact form as is (psql's \password does the same).
func scramVerifier(password string, salt []byte, iterations int) (string, error) {
	stored, server, err := scramKeys(password, salt, iterations)
	if err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored), b64(server)), nil
}

// newScramVerifier makes a verifier with a fresh random salt.
func newScramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return scramVerifier(password, salt, scramIterations)
}

func scramKeys(password string, salt []byte, iterations int) (stored, server []byte, err error) {
	salted, err := pbkdf2.Key(sha256.New, normalizePassword(password), salt, iterations, sha256.Size)
	if err != nil {
		return nil, nil, err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], mac(salted, "Server Key"), nil
}

// normalizePassword applies SASLprep the way clients do before SCRAM (pgx uses
// PRECIS OpaqueString, its successor); a password it rejects is used as is, as
// PostgreSQL and libpq do.
func normalizePassword(p string) string {
	n, err := precis.OpaqueString.String(p)
	if err != nil {
		return p
	}
	return n
}

// passwordMatches reports whether the stored verifier (pg_authid.rolpassword)
// accepts password, for SCRAM-SHA-256 and md5 verifiers. An unknown form never
// matches, so the password is set again.
func passwordMatches(stored, role, password string) bool {
	switch {
	case strings.HasPrefix(stored, "SCRAM-SHA-256$"):
		// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
		parts := strings.Split(strings.TrimPrefix(stored, "SCRAM-SHA-256$"), "$")
		if len(parts) != 2 {
			return false
		}
		iterSalt := strings.SplitN(parts[0], ":", 2)
		keys := strings.SplitN(parts[1], ":", 2)
		if len(iterSalt) != 2 || len(keys) != 2 {
			return false
		}
		iter, err := strconv.Atoi(iterSalt[0])
		if err != nil || iter <= 0 {
			return false
		}
		salt, err1 := base64.StdEncoding.DecodeString(iterSalt[1])
		wantStored, err2 := base64.StdEncoding.DecodeString(keys[0])
		wantServer, err3 := base64.StdEncoding.DecodeString(keys[1])
		if err1 != nil || err2 != nil || err3 != nil {
			return false
		}
		gotStored, gotServer, err := scramKeys(password, salt, iter)
		if err != nil {
			return false
		}
		return subtle.ConstantTimeCompare(gotStored, wantStored) == 1 && subtle.ConstantTimeCompare(gotServer, wantServer) == 1
	case strings.HasPrefix(stored, "md5") && len(stored) == 35:
		sum := md5.Sum([]byte(password + role))
		return subtle.ConstantTimeCompare([]byte("md5"+hex.EncodeToString(sum[:])), []byte(stored)) == 1
	}
	return false
}
