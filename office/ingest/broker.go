package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// broker is a parsed broker address.
type broker struct {
	paho     string // tcp://host:port or ssl://host:port
	display  string // without the password
	tls      bool
	user     string
	password string
}

// parseBroker reads mqtt://[user[:pass]@]host[:port] or mqtts://... (and
// the paho spellings tcp://, ssl://, tls://), the addresses the boxes
// take.
func parseBroker(raw string) (broker, error) {
	bad := func(why string) (broker, error) {
		return broker{}, fmt.Errorf("broker %q: %s (want mqtt://host[:port] or mqtts://host[:port])", redact(raw), why)
	}
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return bad("not a URL")
	}
	var b broker
	port := "1883"
	switch strings.ToLower(u.Scheme) {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		b.tls, port = true, "8883"
	default:
		return bad(fmt.Sprintf("unknown scheme %q", u.Scheme))
	}
	if u.Hostname() == "" {
		return bad("no host")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return bad("unexpected path or query")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	host := net.JoinHostPort(u.Hostname(), port)
	b.display, b.paho = "mqtt://"+host, "tcp://"+host
	if b.tls {
		b.display, b.paho = "mqtts://"+host, "ssl://"+host
	}
	if u.User != nil {
		b.user = u.User.Username()
		b.password, _ = u.User.Password()
	}
	return b, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// tlsConfig builds the client's TLS configuration from PEM files: the CA
// that signed the broker (default: the system's), and a client
// certificate for brokers that require one.
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading the MQTT CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("MQTT CA file %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("MQTT client certificate %s and key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case certFile != "" || keyFile != "":
		return nil, errors.New("an MQTT client certificate needs both the certificate and the key file")
	}
	return cfg, nil
}
