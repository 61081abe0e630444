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
}

// Values of uploads.interrupted.
const (
	InterruptedDiscard = "discard" // the final name is left as it was (atomic uploads)
	InterruptedKeep    = "keep"    // the received bytes are published, so the client can resume
)
