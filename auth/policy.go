package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrWeakPassword is returned for a password that the policy refuses; the
// error's text says why.
var ErrWeakPassword = errors.New("password refused")

// CheckPolicy refuses a password for user name that is shorter than min
// characters, is the name itself (in any case, or reversed), or is one of
// the passwords that guessing tools try first. A server on the internet
// is guessed at all day: such a password falls within the lockout's
// allowance.
func CheckPolicy(name, password string, min int) error {
	lower := strings.ToLower(password)
	switch {
	case utf8.RuneCountInString(password) < min:
		return fmt.Errorf("%w: shorter than %d characters (users.min_password_length)", ErrWeakPassword, min)
	case lower == strings.ToLower(name) || lower == reverse(strings.ToLower(name)):
		return fmt.Errorf("%w: it is the user name", ErrWeakPassword)
	case common[lower]:
		return fmt.Errorf("%w: it is one of the most common passwords", ErrWeakPassword)
	}
	return nil
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// common holds passwords that appear at the top of every published list
// of leaked passwords, lower-cased; those of 12 characters or more matter
// most, since shorter ones already fail the default length.
var common = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields(`
		123456 123456789 12345678 1234567890 12345 1234567 password password1 password123
		qwerty qwerty123 qwertyuiop 111111 123123 abc123 1q2w3e4r 1q2w3e4r5t6y 000000
		iloveyou admin admin123 welcome welcome1 welcome123 letmein monkey dragon
		football baseball sunshine princess master shadow superman trustno1 passw0rd
		changeme changeme123 secret secret123 default guest root toor test test123
		123456789012 1234567890123 qwertyuiopasdf qwerty123456 password1234 password12345
		passwordpassword iloveyou1234 administrator administrator1 welcome12345
		letmein12345 123qweasdzxc 1qaz2wsx3edc zaq12wsxcde3 asdfghjkl123 abcdefghijkl
		abcdef123456 aaaaaaaaaaaa 111111111111 000000000000 123123123123 qazwsxedcrfv
		correcthorsebatterystaple`) {
		m[p] = true
	}
	return m
}()
