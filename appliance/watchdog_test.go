package appliance

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The systemd notifier speaks the real sd_notify protocol: datagrams on
// the socket systemd names in NOTIFY_SOCKET.
func TestSystemdNotifier(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "60000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	var n systemdNotifier
	if got := n.WatchdogInterval(); got != time.Minute {
		t.Errorf("watchdog interval %v, want 1m", got)
	}
	for _, c := range []struct {
		call func()
		want string
	}{{n.Ready, "READY=1"}, {n.Alive, "WATCHDOG=1"}, {n.Stopping, "STOPPING=1"}} {
		c.call()
		buf := make([]byte, 64)
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		k, _, err := conn.ReadFromUnix(buf)
		if err != nil || string(buf[:k]) != c.want {
			t.Errorf("got %q (%v), want %q", buf[:k], err, c.want)
		}
	}
	// Without systemd it does nothing, and says there is no watchdog.
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n.Ready()
	if got := n.WatchdogInterval(); got != 0 {
		t.Errorf("watchdog interval without systemd: %v", got)
	}
}
