package config

import "strings"

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

// S3 is how ferry reaches object storage: the global `storage` and any
// user whose home is an s3:// URL. Empty keys take the credentials from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
type S3 struct {
	AccessKey string `toml:"access_key"`
	SecretKey string `toml:"secret_key"`
	// PartSizeMB is the size of an upload's parts: each upload holds two
	// in memory (one filling, one sent), and 10 000 of them are the
	// largest file.
	PartSizeMB int `toml:"part_size_mb"`
}

// validateTransfers checks the storage keys.
func (c *Config) validateTransfers() error {
	if c.Storage != "" && !strings.HasPrefix(c.Storage, "s3://") {
		return keyErr("storage", "%q: want \"\" (the disk) or s3://bucket/prefix?endpoint=host:port&region=…", c.Storage)
	}
	if c.S3.PartSizeMB < 5 || c.S3.PartSizeMB > 5120 {
		return keyErr("s3.part_size_mb", "%d: must be 5 to 5120 (S3's part sizes)", c.S3.PartSizeMB)
	}
	return nil
}
