package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestNotice(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shop := write("joren.yaml", `
device:
  id: door-1
  site: shibuya-1
  contact: |
    Kissa Hoshi, 1-2-3 Jingumae, Shibuya-ku, Tokyo
    privacy@hoshi-coffee.jp
store:
  retention_days: 60
events:
  broker: mqtts://mqtt.example.com:8883
`)
	pdf, html := filepath.Join(dir, "sign.pdf"), filepath.Join(dir, "sign.html")
	_, stderr, code := run(t, "notice", "--config", shop, "--pdf", pdf, "--html", html)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"wrote " + pdf + ": the door sign (PDF, A4, counting mode, ja+en, 60 days' retention; font /usr/share/fonts/", "wrote " + html} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr does not say %q:\n%s", w, stderr)
		}
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext is missing: install poppler-utils (scripts/setup-debian)")
	}
	out, err := exec.Command(pdftotext, "-raw", pdf, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
	for _, w := range []string{"当店では、カメラで再来店のお客様を認識しています。", "This shop recognises returning customers with a camera.",
		"60日間ご来店がない場合", "not visited for 60 days", "privacy@hoshi-coffee.jp", "shibuya-1 / door-1"} {
		if !strings.Contains(squeeze(string(out)), squeeze(w)) {
			t.Errorf("the PDF does not say %q", w)
		}
		if !strings.Contains(string(page), w) {
			t.Errorf("the page does not say %q", w)
		}
	}

	// One language, consent mode from the environment's override, the page
	// on standard output.
	t.Setenv("JOREN_STORE_MODE", "consent")
	stdout, stderr, code := run(t, "notice", "--config", shop, "--html", "-", "--lang", "en")
	if code != exitOK || !strings.Contains(stdout, "This shop recognises only the members who signed up for it.") || strings.Contains(stdout, "当店") {
		t.Errorf("consent, English, to stdout: exit %d, %s\n%.300s", code, stderr, stdout)
	}
	os.Unsetenv("JOREN_STORE_MODE")

	before, _ := os.ReadFile(pdf)
	noContact := write("bare.yaml", "store:\n  mode: consent\n")
	typo := write("typo.yaml", "device:\n  contatc: Hoshi\n")
	notFont := write("notes.ttf", "shopping list\n")
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no config", []string{"--pdf", pdf}, exitUsage, []string{"needs --config FILE"}},
		{"no output", []string{"--config", shop}, exitUsage, []string{"needs --pdf FILE or --html FILE"}},
		{"language", []string{"--config", shop, "--pdf", pdf, "--lang", "fr"}, exitUsage, []string{`--lang: language "fr"`}},
		{"no contact", []string{"--config", noContact, "--pdf", pdf}, exitFailure, []string{noContact, "device.contact: empty"}},
		{"typo", []string{"--config", typo, "--pdf", pdf}, exitFailure, []string{"typo.yaml:2", `unknown key "contatc"`, `"contact"`}},
		{"not a font", []string{"--config", shop, "--pdf", pdf, "--font", notFont}, exitFailure, []string{notFont, "is not a TrueType font"}},
		{"latin font", []string{"--config", shop, "--pdf", pdf, "--font", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"}, exitFailure, []string{"has no glyph for '顔'"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := run(t, append([]string{"notice"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
		})
	}
	// No failure touched the sign made before.
	if after, _ := os.ReadFile(pdf); string(after) != string(before) {
		t.Error("a failed run changed the existing PDF")
	}
}
