package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// TOTP is a user's second factor for web logins (RFC 6238).
type TOTP struct {
	Secret   string // base32 seed; "" = none
	Enabled  bool   // false while an enrolment waits for its first code
	Required bool   // ferry user set NAME --require-2fa
	LastStep int64  // the newest time step accepted
}

// TOTP returns user's second-factor state; a user without one gets the
// zero TOTP.
func (s *DB) TOTP(ctx context.Context, user string) (TOTP, error) {
	var t TOTP
	err := s.queryRowContext(ctx, `SELECT secret, enabled, required, last_step FROM totp WHERE "user" = ?`, user).
		Scan(&t.Secret, &t.Enabled, &t.Required, &t.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return TOTP{}, nil
	}
	if err != nil {
		return TOTP{}, fmt.Errorf("store: totp of %s: %w", user, err)
	}
	return t, nil
}

// ensureTOTP makes user's totp row exist.
func (s *DB) ensureTOTP(ctx context.Context, user string) error {
	if _, err := s.Get(ctx, user); err != nil {
		return err
	}
	if _, err := s.execContext(ctx, `INSERT INTO totp ("user") VALUES (?) ON CONFLICT DO NOTHING`, user); err != nil {
		return fmt.Errorf("store: totp of %s: %w", user, err)
	}
	return nil
}

// SetRequire2FA sets whether user must log in to the web with a second
// factor.
func (s *DB) SetRequire2FA(ctx context.Context, user string, required bool) error {
	if err := s.ensureTOTP(ctx, user); err != nil {
		return err
	}
	return s.exec(ctx, "require 2fa of", user, `UPDATE totp SET required = ? WHERE "user" = ?`, flag(required), user)
}

// StartTOTP records a new, not yet enabled, secret for user; an enabled
// second factor is left alone until EnableTOTP replaces it.
func (s *DB) StartTOTP(ctx context.Context, user, secret string) error {
	if err := s.ensureTOTP(ctx, user); err != nil {
		return err
	}
	return s.exec(ctx, "enrol totp of", user, `UPDATE totp SET secret = ?, enabled = 0, last_step = 0 WHERE "user" = ? AND enabled = 0`, secret, user)
}

// EnableTOTP turns on user's pending secret, which its first code proved
// at step, and replaces the recovery codes with recoveryHashes.
func (s *DB) EnableTOTP(ctx context.Context, user string, step int64, recoveryHashes []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.rebind(`UPDATE totp SET enabled = 1, last_step = ? WHERE "user" = ? AND enabled = 0 AND secret <> ''`), step, user)
	if err != nil {
		return fmt.Errorf("store: enable totp of %s: %w", user, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: no enrolment pending for %s", ErrNotFound, user)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM totp_recovery WHERE "user" = ?`), user); err != nil {
		return fmt.Errorf("store: recovery codes of %s: %w", user, err)
	}
	for _, h := range recoveryHashes {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO totp_recovery ("user", code_hash) VALUES (?, ?)`), user, h); err != nil {
			return fmt.Errorf("store: recovery codes of %s: %w", user, err)
		}
	}
	return tx.Commit()
}

// DisableTOTP removes user's second factor and recovery codes; whether it
// is required stays.
func (s *DB) DisableTOTP(ctx context.Context, user string) error {
	if _, err := s.execContext(ctx, `DELETE FROM totp_recovery WHERE "user" = ?`, user); err != nil {
		return fmt.Errorf("store: recovery codes of %s: %w", user, err)
	}
	if _, err := s.execContext(ctx, `UPDATE totp SET secret = '', enabled = 0, last_step = 0 WHERE "user" = ?`, user); err != nil {
		return fmt.Errorf("store: totp of %s: %w", user, err)
	}
	return nil
}

// UseTOTPStep accepts time step for user only if it is newer than every
// step accepted before, in one statement: a code replayed within its
// period, on this node or another, is refused.
func (s *DB) UseTOTPStep(ctx context.Context, user string, step int64) (bool, error) {
	res, err := s.execContext(ctx, `UPDATE totp SET last_step = ? WHERE "user" = ? AND enabled = 1 AND last_step < ?`, step, user, step)
	if err != nil {
		return false, fmt.Errorf("store: totp of %s: %w", user, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode consumes the recovery code of user that hashes to
// codeHash; it reports false for an unknown or already used one.
func (s *DB) UseRecoveryCode(ctx context.Context, user, codeHash string) (bool, error) {
	res, err := s.execContext(ctx, `DELETE FROM totp_recovery WHERE "user" = ? AND code_hash = ?`, user, codeHash)
	if err != nil {
		return false, fmt.Errorf("store: recovery code of %s: %w", user, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecoveryCodesLeft counts user's unused recovery codes.
func (s *DB) RecoveryCodesLeft(ctx context.Context, user string) (int, error) {
	var n int
	if err := s.queryRowContext(ctx, `SELECT count(*) FROM totp_recovery WHERE "user" = ?`, user).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: recovery codes of %s: %w", user, err)
	}
	return n, nil
}
