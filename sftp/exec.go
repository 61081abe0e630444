package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
	"golang.org/x/crypto/ssh"
)

// hashCommands are the only commands an exec request may name: rclone's
// sftp backend runs "md5sum PATH" and "sha1sum PATH" to compare hashes
// (rclone check), and sha256sum is their sibling. Nothing executes: ferry
// reads the files through the session's file system and prints what the
// GNU coreutils command would.
var hashCommands = map[string]string{"md5sum": "md5", "sha1sum": "sha1", "sha256sum": "sha256"}

var errSyntax = errors.New("only md5sum, sha1sum or sha256sum followed by paths is accepted")

// splitCommand splits an exec command line into words as a POSIX shell
// would for plain words (backslash escapes, single and double quotes; rclone
// escapes every special character with a backslash) and refuses anything a
// shell would treat as more than words: expansions, redirections, pipes,
// lists. It never runs a shell.
func splitCommand(line string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\':
			if i++; i == len(line) {
				return nil, errSyntax
			}
			w.WriteByte(line[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errSyntax
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 || strings.ContainsAny(line[i+1:i+1+j], "$`\\") {
				return nil, errSyntax
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.IndexByte("|&;<>()$`*?[]{}~#!=\n", c) >= 0:
			return nil, errSyntax
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// hashCommand parses an exec request's command: the algorithm and paths,
// or ok false when it is not one of hashCommands with at least one path.
func hashCommand(line string) (algo string, paths []string, ok bool) {
	words, err := splitCommand(line)
	if err != nil || len(words) < 2 {
		return "", nil, false
	}
	algo, ok = hashCommands[words[0]]
	return algo, words[1:], ok
}

// execHash answers an accepted hash command on ch: one "HEX  PATH" line
// per file on stdout, as coreutils prints it, an error line on stderr for
// a file that cannot be read (the message from the one table, statuses),
// then the exit status (0, or 1 when a file failed).
func (s *Server) execHash(c *conn, ch ssh.Channel, algo string, paths []string, log *slog.Logger) {
	fsys := c.cn.FS()
	status := byte(0)
	cmd := algo + "sum"
	for _, name := range paths {
		p := vfs.Join("/", name)
		sum, err := core.Hash(context.Background(), fsys, p, algo, 0, -1)
		if err != nil {
			_, msg := statusOf(err)
			if errors.Is(err, vfs.ErrEscape) {
				c.cn.Refuse(p, "outside the home")
			}
			fmt.Fprintf(ch.Stderr(), "%s: %s: %s\n", cmd, name, msg)
			status = 1
			continue
		}
		if _, err := io.WriteString(ch, sum+"  "+name+"\n"); err != nil {
			break
		}
	}
	log.Debug("hash command", "command", cmd, "files", len(paths), "exit", status)
	ch.SendRequest("exit-status", false, []byte{0, 0, 0, status})
	ch.CloseWrite()
}
