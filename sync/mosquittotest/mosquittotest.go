package mosquittotest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Binary is where Debian installs the broker.
const Binary = "/usr/sbin/mosquitto"

// Options configure a broker.
type Options struct {
	// TLS, when set, makes the listener TLS-only with these files
	// (NewPKI makes them); clients must present a certificate the CA
	// signed when RequireClientCert is set.
	TLS               *PKI
	RequireClientCert bool
	// Users, when set, turns anonymous access off: only these users,
	// with these passwords (written with mosquitto_passwd), may connect.
	Users map[string]string
	// Config are more lines for mosquitto.conf, before the listener (for
	// example "max_queued_messages 0", as head office's broker needs).
	Config []string
	// ACL, when set, is the broker's acl_file: what each user may read
	// and write ("user NAME" then "topic read|write|readwrite PATTERN"
	// lines; lines before any user line are for anonymous clients).
	// Whatever it does not allow is denied: a QoS 1 publish it denies
	// is still acknowledged (MQTT 3.1.1 cannot say otherwise), and a
	// subscription it denies gets SUBACK 0x80.
	ACL string
	// DynamicSecurity, when set, loads mosquitto's dynamic security
	// plugin with this configuration (its JSON file: clients, groups,
	// roles, "anonymousGroup", "defaultACLAccess"). Unlike acl_file, it
	// tells subscribing apart from receiving: a subscription it denies
	// gets SUBACK 0x80.
	DynamicSecurity string
}

// Broker is a running (or stopped) mosquitto.
type Broker struct {
	t    testing.TB
	opt  Options
	dir  string
	port int
	conf string
	log  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start starts a broker that the test's cleanup stops. Its log is printed
// if the test fails.
func Start(t testing.TB, opt Options) *Broker {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("mosquittotest: %s not found (install Debian's mosquitto: scripts/setup-debian, or apt-get install mosquitto mosquitto-clients): %v", Binary, err)
	}
	b := &Broker{t: t, opt: opt, dir: t.TempDir()}
	b.log = filepath.Join(b.dir, "mosquitto.log")
	if err := os.Mkdir(filepath.Join(b.dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(b.log)
			t.Logf("mosquitto log (%s):\n%s", b.log, log)
		}
	})
	// A free port can be taken between asking and binding: try a few.
	var err error
	for range 5 {
		b.port = freePort(t)
		b.writeConfig()
		if err = b.start(); err == nil {
			return b
		}
	}
	t.Fatalf("mosquittotest: starting mosquitto: %v", err)
	return nil
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (b *Broker) writeConfig() {
	var c strings.Builder
	fmt.Fprintf(&c, "# written by mosquittotest\n")
	// As root, mosquitto drops to the user "mosquitto" unless told
	// otherwise, and then cannot read the test's files; as another user
	// the line has no effect.
	fmt.Fprintf(&c, "user root\n")
	fmt.Fprintf(&c, "persistence true\npersistence_location %s/\nautosave_interval 1\n", filepath.Join(b.dir, "data"))
	fmt.Fprintf(&c, "log_dest file %s\nlog_type all\nconnection_messages true\nlog_timestamp_format %%H:%%M:%%S\n", b.log)
	for _, l := range b.opt.Config {
		fmt.Fprintf(&c, "%s\n", l)
	}
	fmt.Fprintf(&c, "listener %d 127.0.0.1\n", b.port)
	if len(b.opt.Users) > 0 {
		pw := filepath.Join(b.dir, "passwd")
		first := true
		for user, pass := range b.opt.Users {
			args := []string{"-b", pw, user, pass}
			if first {
				args = append([]string{"-c"}, args...)
				first = false
			}
			if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
				b.t.Fatalf("mosquittotest: mosquitto_passwd (Debian's mosquitto package): %v: %s", err, out)
			}
		}
		fmt.Fprintf(&c, "allow_anonymous false\npassword_file %s\n", pw)
	} else {
		fmt.Fprintf(&c, "allow_anonymous true\n")
	}
	if b.opt.ACL != "" {
		acl := filepath.Join(b.dir, "acl")
		if err := os.WriteFile(acl, []byte(b.opt.ACL), 0o600); err != nil {
			b.t.Fatal(err)
		}
		fmt.Fprintf(&c, "acl_file %s\n", acl)
	}
	if b.opt.DynamicSecurity != "" {
		plugins, _ := filepath.Glob("/usr/lib/*/mosquitto_dynamic_security.so")
		if len(plugins) == 0 {
			b.t.Fatal("mosquittotest: mosquitto's dynamic security plugin is not installed (Debian's mosquitto package has it)")
		}
		conf := filepath.Join(b.dir, "dynamic-security.json")
		if err := os.WriteFile(conf, []byte(b.opt.DynamicSecurity), 0o600); err != nil {
			b.t.Fatal(err)
		}
		fmt.Fprintf(&c, "plugin %s\nplugin_opt_config_file %s\n", plugins[0], conf)
	}
	if p := b.opt.TLS; p != nil {
		fmt.Fprintf(&c, "cafile %s\ncertfile %s\nkeyfile %s\n", p.CAFile, p.ServerCertFile, p.ServerKeyFile)
		if b.opt.RequireClientCert {
			fmt.Fprintf(&c, "require_certificate true\n")
		}
	}
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(b.conf, []byte(c.String()), 0o600); err != nil {
		b.t.Fatal(err)
	}
}

// start runs mosquitto and waits until it accepts connections.
func (b *Broker) start() error {
	cmd := exec.Command(Binary, "-c", b.conf)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(b.log)
			return fmt.Errorf("mosquitto exited (%v): %s%s", err, stderr.String(), lastLines(string(log), 5))
		default:
		}
		c, err := net.DialTimeout("tcp", b.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			b.mu.Lock()
			b.cmd = cmd
			b.mu.Unlock()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	return errors.New("mosquitto did not listen within 10 s")
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// Stop stops the broker gracefully (it saves its sessions and queued
// messages) and waits until its port is free. Stopping a stopped broker
// does nothing.
func (b *Broker) Stop() {
	b.mu.Lock()
	cmd := b.cmd
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			break // reaped
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cmd.Process.Signal(syscall.Signal(0)) == nil {
		cmd.Process.Kill()
	}
	// Wait until the port is free for Restart.
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", b.Addr(), 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts a stopped broker again, on the same port, with the same
// configuration and persistence.
func (b *Broker) Restart() {
	b.t.Helper()
	if err := b.start(); err != nil {
		b.t.Fatalf("mosquittotest: restarting mosquitto: %v", err)
	}
}

// SetACL replaces the running broker's ACL (Options.ACL) and has it
// reload its configuration (SIGHUP), as head office does after editing
// its acl_file: connections and sessions stay. It returns once the
// broker says it reloaded.
func (b *Broker) SetACL(acl string) {
	b.t.Helper()
	if b.opt.ACL == "" {
		b.t.Fatal("mosquittotest: SetACL on a broker started without an ACL")
	}
	b.opt.ACL = acl
	if err := os.WriteFile(filepath.Join(b.dir, "acl"), []byte(acl), 0o600); err != nil {
		b.t.Fatal(err)
	}
	b.mu.Lock()
	cmd := b.cmd
	b.mu.Unlock()
	if cmd == nil {
		return // the next start reads it
	}
	const reloaded = "Reloading config."
	before := strings.Count(b.Log(), reloaded)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		b.t.Fatalf("mosquittotest: reloading: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(b.Log(), reloaded) == before {
		if time.Now().After(deadline) {
			b.t.Fatal("mosquittotest: the broker did not reload its configuration within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

// URL is the broker's address as joren takes it: mqtt://127.0.0.1:PORT,
// or mqtts:// with TLS.
func (b *Broker) URL() string {
	if b.opt.TLS != nil {
		return "mqtts://" + b.Addr()
	}
	return "mqtt://" + b.Addr()
}

// Log returns the broker's log so far.
func (b *Broker) Log() string {
	l, _ := os.ReadFile(b.log)
	return string(l)
}

// ClientOptions returns paho options that reach this broker as a test
// client: the credentials of a user of Options.Users (give one user only
// when this matters), the CA and a client certificate when TLS is on.
func (b *Broker) ClientOptions(clientID string) *paho.ClientOptions {
	o := paho.NewClientOptions().AddBroker(strings.Replace(strings.Replace(b.URL(), "mqtts://", "ssl://", 1), "mqtt://", "tcp://", 1))
	o.SetClientID(clientID).SetProtocolVersion(4).SetConnectTimeout(5 * time.Second)
	for user, pass := range b.opt.Users {
		o.SetUsername(user).SetPassword(pass)
		break
	}
	if p := b.opt.TLS; p != nil {
		o.SetTLSConfig(p.ClientTLS(b.t))
	}
	return o
}

// ClientTLS is a TLS configuration trusting the CA and presenting the
// client certificate.
func (p *PKI) ClientTLS(t testing.TB) *tls.Config {
	ca, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(p.ClientCertFile, p.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
