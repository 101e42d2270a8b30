package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

// The vendored libraries are the npm packages' files, unchanged, with
// their licences: web/vendor/VENDOR.md lists their SHA-256 sums.
func TestVendored(t *testing.T) {
	table, err := web.ReadFile("web/vendor/VENDOR.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`(?m)^\| (\S+\.js) \| .*\| ([^|]+) \| ([0-9a-f]{64}) \|$`).FindAllStringSubmatch(string(table), -1)
	if len(rows) != 2 {
		t.Fatalf("VENDOR.md lists %d files, want 2", len(rows))
	}
	for _, r := range rows {
		b, err := web.ReadFile("web/vendor/" + r[1])
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != r[3] {
			t.Errorf("%s: sha256 %x, VENDOR.md says %s", r[1], sum, r[3])
		}
		lic := regexp.MustCompile(`\S+\.LICENSE(\.md)?`).FindString(r[2])
		if _, err := web.ReadFile("web/vendor/" + lic); lic == "" || err != nil {
			t.Errorf("%s: no licence file (%q): %v", r[1], lic, err)
		}
	}
}
