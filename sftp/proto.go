package sftp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// Packet types of SFTP version 3 (draft-ietf-secsh-filexfer-02).
const (
	fxpInit          = 1
	fxpVersion       = 2
	fxpOpen          = 3
	fxpClose         = 4
	fxpRead          = 5
	fxpWrite         = 6
	fxpLstat         = 7
	fxpFstat         = 8
	fxpSetstat       = 9
	fxpFsetstat      = 10
	fxpOpendir       = 11
	fxpReaddir       = 12
	fxpRemove        = 13
	fxpMkdir         = 14
	fxpRmdir         = 15
	fxpRealpath      = 16
	fxpStat          = 17
	fxpRename        = 18
	fxpReadlink      = 19
	fxpSymlink       = 20
	fxpStatus        = 101
	fxpHandle        = 102
	fxpData          = 103
	fxpName          = 104
	fxpAttrs         = 105
	fxpExtended      = 200
	fxpExtendedReply = 201
)

// Status codes.
const (
	fxOK               = 0
	fxEOF              = 1
	fxNoSuchFile       = 2
	fxPermissionDenied = 3
	fxFailure          = 4
	fxBadMessage       = 5
	fxOpUnsupported    = 8
)

// Open flags.
const (
	fxfRead   = 0x01
	fxfWrite  = 0x02
	fxfAppend = 0x04
	fxfCreat  = 0x08
	fxfTrunc  = 0x10
	fxfExcl   = 0x20
)

// Attribute flags.
const (
	attrSize        = 0x01
	attrUIDGID      = 0x02
	attrPermissions = 0x04
	attrACModTime   = 0x08
	attrExtended    = 0x80000000
)

// Sizes announced with limits@openssh.com. OpenSSH clients (8.6 and later)
// size their requests from them; OpenSSH's own server announces the same
// 256 KiB packet and 255 KiB read/write lengths.
const (
	maxPacket     = 256 * 1024
	maxData       = maxPacket - 1024
	maxOpenHandle = 256
)

var errShort = errors.New("sftp: packet too short")

// decoder reads the fields of one request; after the first short read it
// keeps failing, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) u32() uint32 {
	if len(d.b) < 4 {
		d.err = errShort
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.err = errShort
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// bytes returns a string field without copying; it aliases the packet.
func (d *decoder) bytes() []byte {
	n := d.u32()
	if d.err != nil || uint64(n) > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytes()) }

// attrs is the subset of SFTP attributes a client may set.
type attrs struct {
	flags        uint32
	size         uint64
	uid, gid     uint32
	perm         uint32
	atime, mtime uint32
}

func (d *decoder) attrs() attrs {
	var a attrs
	a.flags = d.u32()
	if a.flags&attrSize != 0 {
		a.size = d.u64()
	}
	if a.flags&attrUIDGID != 0 {
		a.uid, a.gid = d.u32(), d.u32()
	}
	if a.flags&attrPermissions != 0 {
		a.perm = d.u32()
	}
	if a.flags&attrACModTime != 0 {
		a.atime, a.mtime = d.u32(), d.u32()
	}
	if a.flags&attrExtended != 0 {
		n := d.u32()
		for i := uint32(0); i < n && d.err == nil; i++ {
			d.bytes()
			d.bytes()
		}
	}
	return a
}

func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }
func appendStr(b []byte, s string) []byte { return append(appendU32(b, uint32(len(s))), s...) }

// Unix file type bits, as SFTP carries them in the permissions field.
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
)

func unixMode(m fs.FileMode) uint32 {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	switch {
	case m.IsDir():
		v |= sIFDIR
	case m&fs.ModeSymlink != 0:
		v |= sIFLNK
	case m&fs.ModeNamedPipe != 0:
		v |= sIFIFO
	case m&fs.ModeSocket != 0:
		v |= sIFSOCK
	case m&fs.ModeCharDevice != 0:
		v |= sIFCHR
	case m&fs.ModeDevice != 0:
		v |= sIFBLK
	default:
		v |= sIFREG
	}
	return v
}

func appendAttrs(b []byte, fi fs.FileInfo) []byte {
	uid, gid, _, ok := vfs.Owner(fi)
	flags := uint32(attrSize | attrPermissions | attrACModTime)
	if ok {
		flags |= attrUIDGID
	}
	b = appendU32(b, flags)
	b = appendU64(b, uint64(fi.Size()))
	if ok {
		b = appendU32(b, uid)
		b = appendU32(b, gid)
	}
	b = appendU32(b, unixMode(fi.Mode()))
	mt := uint32(fi.ModTime().Unix())
	b = appendU32(b, mt)
	return appendU32(b, mt)
}

// longName is the "ls -l" line clients print for a directory entry.
func longName(fi fs.FileInfo, user string, now time.Time) string {
	mode := unixMode(fi.Mode())
	var t byte
	switch mode & sIFMT {
	case sIFDIR:
		t = 'd'
	case sIFLNK:
		t = 'l'
	case sIFIFO:
		t = 'p'
	case sIFSOCK:
		t = 's'
	case sIFCHR:
		t = 'c'
	case sIFBLK:
		t = 'b'
	default:
		t = '-'
	}
	perm := []byte{t}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) != 0 {
			perm = append(perm, rwx[i])
		} else {
			perm = append(perm, '-')
		}
	}
	_, _, nlink, _ := vfs.Owner(fi)
	mt := fi.ModTime()
	date := mt.Format("Jan _2 15:04")
	if d := now.Sub(mt); d > 182*24*time.Hour || d < -time.Hour {
		date = mt.Format("Jan _2  2006")
	}
	return fmt.Sprintf("%s %4d %-8s %-8s %8d %s %s", perm, nlink, user, user, fi.Size(), date, fi.Name())
}
