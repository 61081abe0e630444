package vfs

import "golang.org/x/sys/unix"

// StatFS is fstatfs(2) of the home's directory, opened through the root.
func (l *local) StatFS() (Usage, error) {
	f, err := l.root.Open(".")
	if err != nil {
		return Usage{}, pathErr("statfs", "/", kind(err))
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return Usage{}, pathErr("statfs", "/", kind(err))
	}
	return Usage{
		BlockSize: uint64(st.Frsize), Blocks: st.Blocks, BlocksFree: st.Bfree, BlocksAvail: st.Bavail,
		Files: st.Files, FilesFree: st.Ffree, NameMax: uint64(st.Namelen),
		ReadOnly: l.readOnly || st.Flags&unix.ST_RDONLY != 0,
	}, nil
}
