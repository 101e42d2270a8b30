package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	key := []byte("head-office-key")
	now := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	signed := func(c Command) string {
		c.Sign(key)
		b, _ := jsonMarshal(c)
		return b
	}
	forget := Command{Schema: 1, ID: "c1", Time: now.Add(-time.Minute).Format(time.RFC3339), Name: Forget, Visitor: strings.Repeat("0a", 16), Period: "2026-05"}
	stats := Command{Schema: 1, ID: "c2", Time: now.Format(time.RFC3339Nano), Name: PublishStats}
	tampered := forget
	tampered.Sign(key)
	tampered.Visitor = strings.Repeat("0b", 16)
	tamperedJSON, _ := jsonMarshal(tampered)
	wrongKey := stats
	wrongKey.Sign([]byte("guess"))
	wrongKeyJSON, _ := jsonMarshal(wrongKey)
	stale := stats
	stale.Time = now.Add(-time.Hour).Format(time.RFC3339)
	cases := []struct {
		name, payload, want string
	}{
		{"forget", signed(forget), ""},
		{"stats", signed(stats), ""},
		{"page", signed(Command{Schema: 1, ID: "c3", Time: stats.Time, Name: Page}), ""},
		{"page with a visitor", signed(Command{Schema: 1, ID: "c4", Time: stats.Time, Name: Page, Visitor: strings.Repeat("a", 32), Period: "2026-05"}), "page takes no visitor"},
		{"not JSON", "forget everyone", "not a command object"},
		{"empty", "", "not a command object"},
		{"array", "[1,2]", "not a command object"},
		{"unknown field", `{"schema":1,"id":"c","time":"2026-05-14T10:00:00Z","command":"stats","signature":"","admin":true}`, "unknown field"},
		{"trailing data", signed(stats) + `{}`, "trailing data"},
		{"schema 2", signed(Command{Schema: 2, ID: "c", Time: stats.Time, Name: PublishStats}), "schema 2, want 1"},
		{"no id", signed(Command{Schema: 1, Time: stats.Time, Name: PublishStats}), "id missing"},
		{"line break in id", signed(Command{Schema: 1, ID: "c\n2", Time: stats.Time, Name: PublishStats}), "control characters"},
		{"line break in period", signed(Command{Schema: 1, ID: "c", Time: stats.Time, Name: Forget, Visitor: forget.Visitor, Period: "2026-05\n"}), "control characters"},
		{"bad time", signed(Command{Schema: 1, ID: "c", Time: "now", Name: PublishStats}), `time "now" is not RFC 3339`},
		{"unknown command", signed(Command{Schema: 1, ID: "c", Time: stats.Time, Name: "reboot"}), `unknown command "reboot"`},
		{"forget without visitor", signed(Command{Schema: 1, ID: "c", Time: stats.Time, Name: Forget, Period: "2026-05"}), "forget needs a visitor"},
		{"tampered", tamperedJSON, "signature does not verify"},
		{"wrong key", wrongKeyJSON, "signature does not verify"},
		{"stale", signed(stale), "away from the device's clock"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd, err := ParseCommand([]byte(c.payload), key, now, 5*time.Minute)
			if c.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if cmd.ID == "" || cmd.Name == "" {
					t.Errorf("parsed %+v", cmd)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(c.want, "signature") && !errors.Is(err, ErrUnauthorised) {
				t.Errorf("err = %v, want ErrUnauthorised", err)
			}
		})
	}
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
