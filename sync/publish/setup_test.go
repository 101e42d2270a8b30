package publish

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/vocab"
)

// openStack opens s's stack and closes it when the test ends.
func openStack(t *testing.T, s Setup) *Stack {
	t.Helper()
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	ev, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	return ev
}

// The stack as the commands and the appliance open it: a password read
// from its file (line end dropped), the state made on first use, the
// device named after the host by default, pseudonym periods in the shop's
// calendar; the events reach the broker on the device's topic.
func TestOpenDelivers(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{"shop": "pw"}})
	sub := b.Subscribe(t, "head-office", "joren/#")
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("pw\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state") // made by Open
	tokyo := time.FixedZone("JST", 9*3600)
	ev := openStack(t, Setup{
		StateDir: state, Site: "shibuya-1", Zone: tokyo, PasswordFile: pw,
		Config: Config{Broker: b.URL(), Username: "shop", FailFast: true, Version: "test", Models: testModels},
	})
	if got, want := ev.Maker.Device(), DefaultDevice(); got != want || got == "" {
		t.Errorf("device %q, want the host's name %q", got, want)
	}
	for _, name := range []string{OutboxFile, SecretFile} {
		if _, err := os.Stat(filepath.Join(state, name)); err != nil {
			t.Errorf("%s not made: %v", name, err)
		}
	}
	// 2026-05-31 20:00 UTC is already June 1st in Tokyo: the period is
	// the shop's month, not UTC's.
	d := vocab.Decision{Visit: "v1", Time: time.Date(2026, 5, 31, 20, 0, 0, 0, time.UTC), Visitor: "id-1", New: true, Visits: 1, Days: 1, Confidence: 0.9}
	in := make(chan vocab.Decision, 1)
	in <- d
	close(in)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ev.Run(ctx, in); err != nil {
		t.Fatalf("Run: %v", err)
	}
	topic := TopicsFor("shibuya-1", ev.Maker.Device()).Visit
	msgs, ok := sub.WaitFor(10*time.Second, func(m []mosquittotest.Message) bool { return len(visits(t, m)) == 1 })
	if !ok {
		t.Fatal("the event did not reach the broker")
	}
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/visit") {
			continue
		}
		var v event.Visit
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			t.Fatal(err)
		}
		if m.Topic != topic || v.Period != "2026-06" {
			t.Errorf("event on %s, period %q; want %s, 2026-06", m.Topic, v.Period, topic)
		}
	}
	if ev.Outbox.Len() != 0 {
		t.Errorf("%d events left in the outbox", ev.Outbox.Len())
	}
}

// Without a broker the stack only keeps events, under the default shop
// name, up to its outbox bound; a reopened stack has the same secret, so
// the same pseudonyms.
func TestOpenOffline(t *testing.T) {
	state := t.TempDir()
	s := Setup{StateDir: state, Device: "door-1", OutboxMax: 5}
	ev := openStack(t, s)
	if ev.Maker.Site() != DefaultSite {
		t.Errorf("site %q, want %q", ev.Maker.Site(), DefaultSite)
	}
	for i := range 8 {
		if err := ev.Publish(decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	if ev.Outbox.Len() != 5 || ev.Outbox.Dropped() != 3 {
		t.Errorf("outbox holds %d, dropped %d; want 5 and 3 (OutboxMax)", ev.Outbox.Len(), ev.Outbox.Dropped())
	}
	at := time.Date(2026, 5, 14, 9, 0, 0, 0, time.UTC)
	before, _ := ev.Maker.Pseudonym("id-1", at)
	ev.Close()
	again := openStack(t, s)
	if after, _ := again.Maker.Pseudonym("id-1", at); after != before {
		t.Error("a reopened stack makes other pseudonyms: the device secret was not kept")
	}
	if again.Outbox.Len() != 5 {
		t.Errorf("reopened outbox holds %d events, want 5", again.Outbox.Len())
	}
}

// Every bad setting is a SetupError naming its field (the appliance turns
// it into its configuration key, a command into its flag), and nothing is
// left open.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	short := filepath.Join(dir, "short-key")
	os.WriteFile(short, []byte("  short \n"), 0o600)
	damaged := filepath.Join(dir, "damaged")
	os.Mkdir(damaged, 0o700)
	os.WriteFile(filepath.Join(damaged, SecretFile), []byte("not a secret\n"), 0o600)
	for _, tc := range []struct {
		name  string
		s     Setup
		field SetupField
		want  string
	}{
		{"broker without site", Setup{Config: Config{Broker: "mqtt://x"}}, FieldSite, "needs the shop's name"},
		{"bad broker", Setup{Site: "s", Config: Config{Broker: "http://x"}}, FieldBroker, "unknown scheme"},
		{"bad site", Setup{Site: "a/b"}, FieldSite, "has '/'"},
		{"bad device", Setup{Device: "a b"}, FieldDevice, "has ' '"},
		{"bad period", Setup{Period: "never"}, FieldPeriod, "want day, week, month or year"},
		{"missing password file", Setup{PasswordFile: filepath.Join(dir, "nope")}, FieldPasswordFile, "nope"},
		{"commands, no key file", Setup{Site: "s", Config: Config{Broker: "mqtt://x", Commands: true}}, FieldCommandKeyFile, "no command key file"},
		{"commands, short key", Setup{Site: "s", CommandKeyFile: short, Config: Config{Broker: "mqtt://x", Commands: true}}, FieldCommandKeyFile, "5 bytes, want at least 16"},
		{"commands, no broker", Setup{Config: Config{Commands: true}}, FieldCommands, "need a broker"},
		{"discovery, no broker", Setup{Config: Config{Discovery: true}}, FieldDiscovery, "need a broker"},
		{"CA with a plain broker", Setup{Site: "s", Config: Config{Broker: "mqtt://x", CAFile: file}}, FieldCAFile, "use mqtts://"},
		{"certificate without key", Setup{Site: "s", Config: Config{Broker: "mqtts://x", CertFile: file}}, FieldCertFile, "needs both"},
		{"CA missing", Setup{Site: "s", Config: Config{Broker: "mqtts://x", CAFile: filepath.Join(dir, "no-ca.pem")}}, FieldCAFile, "no-ca.pem"},
		{"CA not PEM", Setup{Site: "s", Config: Config{Broker: "mqtts://x", CAFile: file}}, FieldCAFile, "holds no PEM certificate"},
		{"certificate not PEM", Setup{Site: "s", Config: Config{Broker: "mqtts://x", CertFile: file, KeyFile: file}}, FieldCertFile, "MQTT client certificate"},
		{"state is a file", Setup{StateDir: file}, FieldStateDir, file},
		{"damaged secret", Setup{StateDir: damaged}, FieldStateDir, "not hex"},
	} {
		if tc.s.StateDir == "" {
			tc.s.StateDir = filepath.Join(t.TempDir(), "state")
		}
		tc.s.Log = slog.New(slog.DiscardHandler)
		ev, err := Open(tc.s)
		var se *SetupError
		if !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (%#v), want a SetupError of %s saying %q", tc.name, err, se, tc.field, tc.want)
		}
		if ev != nil {
			t.Errorf("%s: a stack was returned with the error", tc.name)
			ev.Close()
		}
		// Check and CheckFiles, which open nothing, refuse the same: the
		// appliance's configuration check relies on it.
		if tc.field == FieldStateDir {
			continue
		}
		err = tc.s.Check()
		if err == nil {
			err = tc.s.CheckFiles()
		}
		if !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Check and CheckFiles: %v, want a SetupError of %s saying %q", tc.name, err, tc.field, tc.want)
		}
	}
	// The outbox of a failed Open was closed: with the secret fixed, the
	// same state opens (a leaked outbox would still hold its lock).
	os.Remove(filepath.Join(damaged, SecretFile))
	openStack(t, Setup{StateDir: damaged})
}

// The device and the command that signs read one key file the same way.
func TestReadCommandKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	os.WriteFile(path, []byte("a shared command key \r\n"), 0o600)
	key, err := ReadCommandKey(path)
	if err != nil || string(key) != "a shared command key" {
		t.Errorf("key %q, %v", key, err)
	}
	if _, err := ReadCommandKey(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing key file: %v", err)
	}
}
