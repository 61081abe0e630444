package server

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/privsep"
)

// dropPrivileges runs once every port is bound and every root-only file is
// read: data_dir is handed to run_as (its files, and the roots of the
// homes below data_dir/homes), a privileged helper is kept for active-mode
// source ports below 1024, and the process becomes run_as. It returns what
// stops the helper. Without run_as, a server running as root says so.
func dropPrivileges(cfg *config.Config, plan *listen.Plan, log *slog.Logger) (stop func(), err error) {
	if cfg.RunAs == "" {
		if os.Geteuid() == 0 {
			log.Warn("running as root after binding: set run_as to the account ferry should run as")
		}
		return func() {}, nil
	}
	acct, err := privsep.Lookup(cfg.RunAs)
	if err != nil {
		return nil, err
	}
	if err := handOver(cfg.DataDir, acct); err != nil {
		return nil, err
	}
	stop = func() {}
	var low []int
	for _, e := range plan.Entries {
		if e.Kind == listen.Active && e.Ports.Low != 0 && e.Ports.Low < 1024 && !slices.Contains(low, e.Ports.Low) {
			low = append(low, e.Ports.Low)
		}
	}
	if len(low) > 0 {
		h, err := privsep.Start(low)
		if err != nil {
			return nil, err
		}
		plan.DialPrivileged(h.Dial)
		stop = func() { h.Close() }
	}
	if err := privsep.Drop(acct); err != nil {
		stop()
		return nil, err
	}
	log.Info("dropped privileges", "run_as", acct.Name, "uid", acct.UID, "gid", acct.GID, "privileged_active_ports", low)
	return stop, nil
}

// handOver gives data_dir and what ferry keeps in it to acct: everything
// but the contents of the homes below data_dir/homes, of which only the
// root folders change hands (their files are the users').
func handOver(dataDir string, acct privsep.Account) error {
	homes := filepath.Join(dataDir, "homes")
	return filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, acct.UID, acct.GID); err != nil {
			return err
		}
		if d.IsDir() && filepath.Dir(p) == homes {
			return filepath.SkipDir
		}
		return nil
	})
}
