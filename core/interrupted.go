package core

import (
	"errors"

	"github.com/ferry-project/ferry/config"
)

// KeepInterrupted reports whether an upload that ended early with err
// (nil: the client went away without an error on the data path) is to be
// published with the bytes received, so that its client can resume it:
// only with uploads.interrupted = "keep" for the session's user (the
// user's entry in uploads.interrupted_users, else the global value), and
// only when the client's side
// failed (ErrPeer). A refusal or a storage failure (quota, read-only, a
// full disk) publishes nothing: the upload remembers its write error and
// its Commit discards it.
func (cn *Conn) KeepInterrupted(err error) bool {
	return cn.core.interrupted.InterruptedFor(cn.User().Name) == config.InterruptedKeep &&
		(err == nil || errors.Is(err, ErrPeer))
}
