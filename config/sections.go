package config

// The sections that the transfer protocols share: what every transfer
// obeys (bandwidth, uploads) and what the server shows of itself (metrics).

// Metrics is the opt-in Prometheus listener.
type Metrics struct {
	Listen string `toml:"listen"` // host:port, e.g. "127.0.0.1:9464"; "" = off
}

// Bandwidth limits transfers in bytes per second, 0 for no limit: the
// whole server's uploads and downloads, and each user's (all of the
// user's sessions together), every protocol alike.
type Bandwidth struct {
	Upload       int64 `toml:"upload"`
	Download     int64 `toml:"download"`
	UserUpload   int64 `toml:"user_upload"`
	UserDownload int64 `toml:"user_download"`
}

// Uploads configures uploads in every protocol.
type Uploads struct {
	// Interrupted is what becomes of the bytes of an upload whose client
	// went away before the end: InterruptedDiscard or InterruptedKeep.
	Interrupted string `toml:"interrupted"`
	// InterruptedUsers overrides Interrupted for the users it names (user
	// name -> InterruptedDiscard or InterruptedKeep): a partner on a
	// flaky line gets "keep" while the folders that automation watches
	// stay atomic. It lives here, not in the store, so that it is set
	// where the global value is, and read at start like it.
	InterruptedUsers map[string]string `toml:"interrupted_users"`
}

// InterruptedFor is uploads.interrupted for user: the user's own value
// when interrupted_users names the user, the global one otherwise.
func (u Uploads) InterruptedFor(user string) string {
	if v, ok := u.InterruptedUsers[user]; ok {
		return v
	}
	return u.Interrupted
}

// validate checks interrupted and every value of interrupted_users.
func (u Uploads) validate() error {
	if u.Interrupted != InterruptedDiscard && u.Interrupted != InterruptedKeep {
		return keyErr("uploads.interrupted", "%q: must be discard or keep", u.Interrupted)
	}
	for name, v := range u.InterruptedUsers {
		if v != InterruptedDiscard && v != InterruptedKeep {
			return keyErr("uploads.interrupted_users", "%s = %q: must be discard or keep", name, v)
		}
	}
	return nil
}

// Values of uploads.interrupted.
const (
	InterruptedDiscard = "discard" // the final name is left as it was (atomic uploads)
	InterruptedKeep    = "keep"    // the received bytes are published, so the client can resume
)
