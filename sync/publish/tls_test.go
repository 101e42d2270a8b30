package publish

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"joren/sync/mosquittotest"
)

// TLS with a CA the test generates, a client certificate and a password:
// delivered. A wrong CA, a missing client certificate or an address the
// certificate does not name are refused with an error saying which.
func TestTLS(t *testing.T) {
	pki := mosquittotest.NewPKI(t)
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: pki, RequireClientCert: true, Users: map[string]string{"joren": "s3cret"}})
	sub := b.Subscribe(t, "head-office", "joren/+/+/visit")
	secure := func(c *Config) {
		c.CAFile, c.CertFile, c.KeyFile = pki.CAFile, pki.ClientCertFile, pki.ClientKeyFile
		c.Username, c.Password = "joren", "s3cret"
		c.FailFast = true
	}
	if !strings.HasPrefix(b.URL(), "mqtts://127.0.0.1:") {
		t.Fatalf("broker URL %s", b.URL())
	}

	h := newHarness(t, b, secure)
	for i := range 5 {
		h.p.Publish(decision(i))
	}
	stop := h.run(nil)
	want := eventIDs(t, h.maker, 0, 5)
	msgs, _ := sub.WaitFor(10*time.Second, hasAll(t, want))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, msgs, want)

	other := mosquittotest.NewPKI(t) // a CA the broker's certificate is not from
	port := b.URL()[len("mqtts://127.0.0.1:"):]
	cases := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"unknown CA", func(c *Config) { c.CAFile = other.CAFile }, []string{"not signed by the CA file " + other.CAFile}},
		{"system roots", func(c *Config) { c.CAFile = "" }, []string{"not signed by the system's CA certificates"}},
		{"no client certificate", func(c *Config) { c.CertFile, c.KeyFile = "", "" }, []string{"refused the TLS handshake", "client certificate"}},
		{"client certificate from another CA", func(c *Config) { c.CertFile, c.KeyFile = other.ClientCertFile, other.ClientKeyFile }, []string{"refused the TLS handshake"}},
		{"host name not in the certificate", func(c *Config) { c.Broker = "mqtts://localhost:" + port }, []string{"not valid for this address"}},
		{"plain MQTT to a TLS port", func(c *Config) { c.Broker = "mqtt://127.0.0.1:" + port; c.CAFile, c.CertFile, c.KeyFile = "", "", "" }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, b, func(cfg *Config) { secure(cfg); c.edit(cfg) })
			h.p.Publish(decision(0))
			// A refusal ends Run at once; the wait is long only for a
			// machine as slow as arm64 under qemu on a busy CI. The case
			// that is no refusal runs for the short one.
			wait := 30 * time.Second
			if c.want == nil {
				wait = 3 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			err := h.p.Run(ctx, nil)
			if c.want == nil {
				// Not a refusal: the device keeps trying (and says so).
				if err != nil || !strings.Contains(h.log.String(), "cannot reach the MQTT broker") {
					t.Errorf("Run: %v; log:\n%s", err, h.log)
				}
				return
			}
			var r RefusedError
			if err == nil || !errors.As(err, &r) {
				t.Fatalf("Run: %v, want a refusal", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if h.box.Len() != 1 {
				t.Errorf("outbox lost its event: %d", h.box.Len())
			}
		})
	}
}
