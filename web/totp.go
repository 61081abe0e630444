package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/store"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// pendingLife is how long a browser that gave the right password has to
// give its second factor.
const pendingLife = 5 * time.Minute

// otpHeader carries the current TOTP code (or a recovery code) of a
// two-factor account asking POST /api/v1/token for a bearer token.
const otpHeader = "X-Ferry-OTP"

// recoveryCodes is how many recovery codes an enrolment gives.
const recoveryCodes = 10

// totpOpts are RFC 6238's defaults, which every authenticator app reads.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// matchStep returns the time step (of now, or one step either side, for
// clocks that drift) whose code is code, or false.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	for _, d := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(d) * 30 * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30, true
		}
	}
	return 0, false
}

// normalizeCode drops the spaces and dashes people type in codes.
func normalizeCode(c string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(c)))
}

func recoveryHash(code string) string {
	sum := sha256.Sum256([]byte(normalizeCode(code)))
	return hex.EncodeToString(sum[:])
}

// checkCode reports whether code is user's current TOTP code, not used
// before (a replay within its period is refused by the store), or one of
// its unused recovery codes, which it consumes. Recovery codes are 80
// random bits: a SHA-256 of them is as safe as a slow hash.
func (s *Server) checkCode(ctx context.Context, user string, t store.TOTP, code string) (bool, error) {
	code = normalizeCode(code)
	if !t.Enabled {
		return false, nil
	}
	if step, ok := matchStep(t.Secret, code, time.Now()); ok {
		return s.core.Store().UseTOTPStep(ctx, user, step)
	}
	if len(code) != 16 {
		return false, nil
	}
	return s.core.Store().UseRecoveryCode(ctx, user, recoveryHash(code))
}

func (rq *request) pendingCookie() string {
	if rq.secure {
		return "__Host-ferry-2fa"
	}
	return "ferry-2fa"
}

// secondFactor, after a right password, asks for the code when two-factor
// applies to u (or sends the user to enrol when it is required and not
// set up) and reports true; it reports false when the login may go on.
func (s *Server) secondFactor(rq *request, u store.User) bool {
	t, applies, err := s.core.TwoFactorApplies(rq.ctx(), u.Name)
	if err != nil {
		rq.page(http.StatusInternalServerError, "login.html", map[string]any{"Secure": rq.secure, "Error": "Logins are unavailable right now."})
		return true
	}
	if !applies {
		return false
	}
	secret, _, err := s.pending.create(u.Name)
	if err != nil {
		s.log.Error("login not continued", "user", u.Name, "err", err)
		rq.page(http.StatusServiceUnavailable, "login.html", map[string]any{"Secure": rq.secure, "Error": "Logins are unavailable right now."})
		return true
	}
	http.SetCookie(rq.w, &http.Cookie{Name: rq.pendingCookie(), Value: secret, Path: "/", HttpOnly: true, Secure: rq.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(pendingLife.Seconds())})
	if !t.Enabled {
		http.Redirect(rq.w, rq.r, "/2fa", http.StatusSeeOther)
		return true
	}
	rq.page(http.StatusOK, "totp.html", map[string]any{"User": u.Name})
	return true
}

// pendingUser is the user of a browser between password and code.
func (rq *request) pendingUser() (string, string, bool) {
	c, err := rq.r.Cookie(rq.pendingCookie())
	if err != nil {
		return "", "", false
	}
	se, ok := rq.s.pending.get(c.Value)
	if !ok {
		return "", "", false
	}
	return se.user, c.Value, true
}

// codeRefused renders page with the message for a refused code.
func (rq *request) codeRefused(page string, data map[string]any, err error) {
	status, msg := http.StatusUnauthorized, "Wrong or already used code."
	switch {
	case errors.Is(err, auth.ErrLocked):
		status, msg = http.StatusTooManyRequests, "Too many failed logins from your address. Try again later."
	case errors.Is(err, auth.ErrBusy):
		status, msg = http.StatusServiceUnavailable, "The server is busy. Try again in a few seconds."
	case !errors.Is(err, auth.ErrDenied):
		status, msg = http.StatusInternalServerError, "Logins are unavailable right now."
	}
	data["Error"] = msg
	rq.page(status, page, data)
}

// login2FA checks the code of a browser that gave its password.
func (s *Server) login2FA(rq *request) {
	if !rq.onlyMethods(http.MethodPost) {
		return
	}
	name, secret, ok := rq.pendingUser()
	if !ok {
		http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
		return
	}
	rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, 4<<10)
	code := rq.r.PostFormValue("code")
	err := rq.conn().Code(rq.ctx(), name, func() (bool, error) {
		t, err := s.core.Store().TOTP(rq.ctx(), name)
		if err != nil {
			return false, err
		}
		return s.checkCode(rq.ctx(), name, t, code)
	})
	if err != nil {
		rq.codeRefused("totp.html", map[string]any{"User": name}, err)
		return
	}
	u, err := rq.conn().Lookup(rq.ctx(), name)
	if err != nil || u.Disabled {
		http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
		return
	}
	s.pending.drop(secret)
	http.SetCookie(rq.w, &http.Cookie{Name: rq.pendingCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: rq.secure, SameSite: http.SameSiteStrictMode})
	s.startSession(rq, u)
}

// enrol is the page that sets up a second factor: a logged-in user's, or
// that of a user who must have one before the first login completes.
func (s *Server) enrol(rq *request) {
	if !rq.onlyMethods(http.MethodGet, http.MethodHead, http.MethodPost) {
		return
	}
	var name, csrf, pendingSecret string
	if se := rq.browserSession(); se != nil {
		name, csrf = se.user, se.csrf
	} else if n, sec, ok := rq.pendingUser(); ok {
		name, pendingSecret = n, sec
	} else {
		http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
		return
	}
	st := s.core.Store()
	t, err := st.TOTP(rq.ctx(), name)
	if err != nil {
		http.Error(rq.w, "two-factor settings unavailable", http.StatusInternalServerError)
		return
	}
	data := map[string]any{"User": name, "CSRF": csrf}
	if t.Enabled {
		left, _ := st.RecoveryCodesLeft(rq.ctx(), name)
		data["Enabled"], data["Left"] = true, left
		rq.page(http.StatusOK, "enrol.html", data)
		return
	}
	if rq.r.Method != http.MethodPost {
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "ferry", AccountName: name})
		if err != nil || st.StartTOTP(rq.ctx(), name, key.Secret()) != nil {
			http.Error(rq.w, "two-factor settings unavailable", http.StatusInternalServerError)
			return
		}
		data["Secret"], data["QR"] = key.Secret(), template.URL(qrDataURL(key)) // built here: a PNG data: URL
		rq.page(http.StatusOK, "enrol.html", data)
		return
	}
	rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, 4<<10)
	if csrf != "" && rq.r.PostFormValue("csrf") != csrf {
		http.Error(rq.w, "missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	code := normalizeCode(rq.r.PostFormValue("code"))
	var step int64
	err = rq.conn().Code(rq.ctx(), name, func() (bool, error) {
		var ok bool
		step, ok = matchStep(t.Secret, code, time.Now())
		return ok && t.Secret != "", nil
	})
	if err != nil {
		data["Secret"] = t.Secret
		rq.codeRefused("enrol.html", data, err)
		return
	}
	codes := make([]string, recoveryCodes)
	hashes := make([]string, recoveryCodes)
	for i := range codes {
		b := make([]byte, 10)
		_, _ = rand.Read(b)
		c := strings.ToLower(base32.StdEncoding.EncodeToString(b)) // 16 characters
		codes[i] = c[:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:]
		hashes[i] = recoveryHash(codes[i])
	}
	if err := st.EnableTOTP(rq.ctx(), name, step, hashes); err != nil {
		http.Error(rq.w, "two-factor settings unavailable", http.StatusInternalServerError)
		return
	}
	rq.conn().Log.Info("two-factor enabled", "user", name)
	data["Codes"] = codes
	if pendingSecret != "" {
		u, err := rq.conn().Lookup(rq.ctx(), name)
		if err != nil {
			http.Redirect(rq.w, rq.r, "/login", http.StatusSeeOther)
			return
		}
		s.pending.drop(pendingSecret)
		if !s.setSession(rq, u) {
			return
		}
	}
	rq.page(http.StatusOK, "enrol.html", data)
}

// qrDataURL is the key's otpauth:// URL as a QR code PNG, inline.
func qrDataURL(key *otp.Key) string {
	img, err := key.Image(256, 256)
	if err != nil {
		return ""
	}
	var b bytes.Buffer
	if png.Encode(&b, img) != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
}

// basicSecondFactor is asked after a right password in an Authorization:
// Basic header. Basic has no second factor, so a two-factor account may
// use it only to get a bearer token, with its code in X-Ferry-OTP; it
// writes the refusal and reports ok=false otherwise. twoFA reports that
// two-factor applies (the header must then not be remembered).
func (rq *request) basicSecondFactor(u store.User) (ok, twoFA bool) {
	_, applies, err := rq.s.core.TwoFactorApplies(rq.ctx(), u.Name)
	if err != nil {
		rq.fail(http.StatusInternalServerError, "user store unavailable")
		return false, true
	}
	if !applies {
		return true, false
	}
	if rq.r.URL.Path != "/api/v1/token" || rq.r.Method != http.MethodPost {
		rq.fail(http.StatusForbidden, "two-factor account: get a bearer token with POST /api/v1/token and the code in "+otpHeader)
		return false, true
	}
	code := rq.r.Header.Get(otpHeader)
	if code == "" {
		rq.unauthorized("two-factor account: send the current code in the " + otpHeader + " header")
		return false, true
	}
	err = rq.conn().Code(rq.ctx(), u.Name, func() (bool, error) {
		t, err := rq.s.core.Store().TOTP(rq.ctx(), u.Name)
		if err != nil {
			return false, err
		}
		return rq.s.checkCode(rq.ctx(), u.Name, t, code)
	})
	if err != nil {
		rq.loginFailed(u.Name, err)
		return false, true
	}
	return true, true
}
