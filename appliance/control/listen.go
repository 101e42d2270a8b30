package control

import (
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// DefaultSocket is where the service listens unless control.socket says
// otherwise.
const DefaultSocket = "/run/joren/control.sock"

// Listen opens the control socket at path: its directory is made (mode
// 0700) if missing, a socket left by a service that died is replaced, and
// the socket is made mode 0600. Another live service on path, or a file
// that is not a socket, is an error.
func Listen(path string) (*net.UnixListener, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("%q: want an absolute path, such as %s", path, DefaultSocket)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("making the socket's directory: %w", err)
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if st.Mode().Perm()&0o002 != 0 && st.Mode()&fs.ModeSticky == 0 {
		return nil, fmt.Errorf("%s is writable by anyone: another user could replace the socket; use a directory of mode 0700", dir)
	}
	switch st, err := os.Lstat(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case st.Mode()&fs.ModeSocket == 0:
		return nil, fmt.Errorf("%s exists and is not a socket: remove it or choose another path", path)
	default:
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another joren is serving it (two services on one store?)", path)
		}
		// Left by a service that died: nobody answers on it.
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	// Connecting needs write permission: only the service's user (and
	// root) may. The peer's credentials are checked as well (SO_PEERCRED).
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Peer is who is at the other end of a connection, as the kernel says.
type Peer struct {
	PID int32
	UID uint32
	GID uint32
}

// peerOf reads the credentials of a unix socket's peer (SO_PEERCRED: the
// process that connected, as of connect; it cannot be forged).
func peerOf(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("not a unix socket connection: %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var (
		cred *unix.Ucred
		cerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if cerr != nil {
		return Peer{}, fmt.Errorf("reading the peer's credentials: %w", cerr)
	}
	return Peer{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}, nil
}
