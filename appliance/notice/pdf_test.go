package notice

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"joren/cluster/store"
)

// font is the Japanese font the PDF tests draw with: Debian's
// fonts-ipaexfont-gothic, installed by scripts/setup-debian.
func font(t *testing.T) *Font {
	t.Helper()
	f, err := FindFont()
	if err != nil {
		t.Fatalf("%v (scripts/setup-debian installs it)", err)
	}
	return f
}

func renderPDF(t *testing.T, p Page, f *Font) (path string, size int) {
	t.Helper()
	var b bytes.Buffer
	if err := p.PDF(&b, f); err != nil {
		t.Fatal(err)
	}
	return pdfFile(t, b.Bytes()), b.Len()
}

// Every mode, language and head-office setting: one A4 page that holds
// all of the sign's text, in a font embedded in the file.
func TestPDF(t *testing.T) {
	fnt := font(t)
	base := FromConfig(loadConfig(t, shopConfig))
	for _, mode := range []store.Mode{store.Counting, store.Consent} {
		for _, headOffice := range []bool{true, false} {
			for _, langs := range [][]Lang{{Japanese, English}, {Japanese}, {English}} {
				f := base
				f.Mode, f.HeadOffice = mode, headOffice
				p := Page{Facts: f, Langs: langs}
				t.Run(strings.ReplaceAll(p.Describe(), " ", "_")+map[bool]string{true: "_head_office"}[headOffice], func(t *testing.T) {
					path, size := renderPDF(t, p, fnt)
					checkOneA4(t, path)
					signs, err := p.signs()
					if err != nil {
						t.Fatal(err)
					}
					text := pdfText(t, path)
					checkSays(t, "the PDF", text, signText(signs)...)
					checkSays(t, "the PDF", text, "kyoto-gion / door-2")
					fonts := poppler(t, "pdffonts", path)
					if !strings.Contains(fonts, "CID TrueType") || !strings.Contains(fonts, " yes ") {
						t.Errorf("the font is not embedded:\n%s", fonts)
					}
					// The font is embedded as a subset: the whole of IPAex
					// Gothic is 6 MB.
					if size > 300_000 {
						t.Errorf("the PDF has %d bytes: is the whole font embedded?", size)
					}
					t.Logf("%d bytes", size)
				})
			}
		}
	}
}

// The values the sign shows are the configuration's.
func TestPDFValuesFromConfig(t *testing.T) {
	p := Page{Facts: FromConfig(loadConfig(t, shopConfig))}
	path, _ := renderPDF(t, p, font(t))
	checkSays(t, "the consent-mode PDF", pdfText(t, path),
		"ご登録に同意された会員様のみ", "only the members who signed up",
		"45日間ご来店がない場合", "not visited for 45 days",
		"21日間に4日", "visits on 4 different days within 21 days",
		"週ごとに変わる符号", "every week",
		"Kissa Hoshi (Hoshi Coffee K.K.)", "1-2-3 Gionmachi, Higashiyama-ku, Kyoto", "privacy@hoshi-coffee.jp / 075-123-4567")
	if text := pdfText(t, path); strings.Contains(text, squeeze("returning customers")) || strings.Contains(text, "90") {
		t.Error("the consent-mode sign says what counting mode or the defaults would")
	}
}

// The longest contact the configuration allows still fits on the page,
// with every character of it.
func TestPDFLongestContact(t *testing.T) {
	f := FromConfig(loadConfig(t, shopConfig))
	line := strings.Repeat("喫茶ほし京都祇園店", 6)[:0]
	for len([]rune(line)) < MaxContactChars/MaxContactLines-1 {
		line += "喫茶ほし京都祇園店 Kissa-Hoshi "
	}
	line = string([]rune(line)[:MaxContactChars/MaxContactLines-1])
	f.Contact = strings.TrimSuffix(strings.Repeat(line+"\n", MaxContactLines), "\n")
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	p := Page{Facts: f}
	path, _ := renderPDF(t, p, font(t))
	checkOneA4(t, path)
	signs, _ := p.signs()
	checkSays(t, "the PDF", pdfText(t, path), signText(signs)...)
}

func TestFontErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := font(t)
	for _, c := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "none.ttf"), "no such file"},
		{"not a font", write("notes.ttf", []byte("shopping list: milk, eggs\n")), "is not a TrueType font"},
		{"empty", write("empty.ttf", nil), "is not a font"},
		{"truncated", write("cut.ttf", good.data[:20000]), "is damaged"},
		{"CFF", write("cff.otf", append([]byte("OTTO"), good.data[4:]...)), "PostScript (CFF) outlines"},
		{"collection", write("c.ttc", append([]byte("ttcf"), good.data[4:]...)), "collection"},
	} {
		if _, err := LoadFont(c.path); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: LoadFont = %v, want %q naming the file", c.name, err, c.want)
		}
	}
	if _, err := FindFont(filepath.Join(dir, "a.ttf"), filepath.Join(dir, "b.ttf")); err == nil || !strings.Contains(err.Error(), "fonts-ipaexfont-gothic") {
		t.Errorf("FindFont with no font: %v", err)
	}

	// A contact the font cannot draw is refused, naming the characters,
	// rather than printed with holes.
	f := FromConfig(loadConfig(t, shopConfig))
	f.Contact = "홍길동 카페 😀"
	err := Page{Facts: f}.PDF(new(bytes.Buffer), good)
	if err == nil || !strings.Contains(err.Error(), "'홍' (U+D64D)") || !strings.Contains(err.Error(), "U+1F600") || !strings.Contains(err.Error(), "device.contact") {
		t.Errorf("contact without glyphs: %v", err)
	}
	// A Latin font has no Japanese.
	if _, err := os.Stat("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"); err == nil {
		latin, err := LoadFont("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
		if err != nil {
			t.Fatal(err)
		}
		f.Contact = "Kissa Hoshi"
		err = Page{Facts: f}.PDF(new(bytes.Buffer), latin)
		if err == nil || !strings.Contains(err.Error(), "has no glyph for '顔'") {
			t.Errorf("a Latin font: %v", err)
		}
		// In English only, it will do.
		if err := (Page{Facts: f, Langs: []Lang{English}}).PDF(new(bytes.Buffer), latin); err != nil {
			t.Errorf("English in a Latin font: %v", err)
		}
	}
}

// With JOREN_NOTICE_PICTURES=DIR the test draws the pictures of
// docs/privacy.md: both modes, both languages
// (JOREN_NOTICE_PICTURES=$PWD/docs go test -run TestPictures ./appliance/notice).
func TestPictures(t *testing.T) {
	dir := os.Getenv("JOREN_NOTICE_PICTURES")
	if dir == "" {
		t.Skip("JOREN_NOTICE_PICTURES is not set")
	}
	counting := FromConfig(loadConfig(t, `
device: {id: door-1, site: shibuya-1, contact: "Kissa Hoshi (Hoshi Coffee K.K.), 1-2-3 Jingumae, Shibuya-ku, Tokyo\nprivacy@hoshi-coffee.jp / 03-1234-5678"}
events: {broker: "mqtts://mqtt.hoshi-coffee.jp:8883"}
`))
	consent := FromConfig(loadConfig(t, `
device: {id: door-1, site: kyoto-gion, contact: "Kissa Hoshi Gion, 1-2-3 Gionmachi, Higashiyama-ku, Kyoto\nprivacy@hoshi-coffee.jp / 075-123-4567"}
store: {mode: consent}
`))
	for name, f := range map[string]Facts{"notice-counting": counting, "notice-consent": consent} {
		path, _ := renderPDF(t, Page{Facts: f}, font(t))
		out := filepath.Join(dir, name)
		if b, err := exec.Command("pdftoppm", "-png", "-r", "80", "-singlefile", path, out).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, b)
		}
		t.Logf("wrote %s.png", out)
	}
}
