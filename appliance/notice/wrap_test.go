package notice

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// runes measures text as one unit per character, as a monospaced font would.
func runes(s string) float64 { return float64(utf8.RuneCountInString(s)) }

func TestWrap(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		width float64
		want  []string
	}{
		{"words", "To be forgotten, ask any member of staff.", 16, []string{"To be forgotten,", "ask any member", "of staff."}},
		{"fits", "Purpose", 16, []string{"Purpose"}},
		{"newlines", "Kissa Hoshi\n1-2-3 Jingumae\n\nprivacy@hoshi.jp", 40, []string{"Kissa Hoshi", "1-2-3 Jingumae", "", "privacy@hoshi.jp"}},
		// Japanese breaks between characters, but 。 and 、 never start a
		// line: the character before them goes to the next line with them.
		{"japanese", "お顔の画像は保存しません。スタッフに", 6, []string{"お顔の画像は", "保存しませ", "ん。スタッフ", "に"}},
		{"japanese comma", "いつでも、お近く", 4, []string{"いつで", "も、お近", "く"}},
		{"too long a word", "privacy-requests@example.com", 10, []string{"privacy-", "requests@e", "xample.com"}},
		{"empty", "", 10, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := wrap(c.text, c.width, runes)
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("wrap(%q, %v) =\n%q\nwant\n%q", c.text, c.width, got, c.want)
			}
		})
	}
}

// The contact is the configuration's text: whatever it holds, wrapping
// loses no character, adds none, and never makes a line wider than the
// width unless the line is a single character.
func FuzzWrap(f *testing.F) {
	for _, s := range []string{"Kissa Hoshi\n1-2-3 Jingumae, Shibuya, Tokyo\nprivacy@hoshi.jp", "喫茶ほし　東京都渋谷区神宮前1-2-3", "a  b\r\nc\u2028d", "\u0301\u200d 🏳️‍🌈🏳️‍🌈", "x"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, text string, width int) {
		if width < 1 || width > 200 || !utf8.ValidString(text) {
			return
		}
		lines := wrap(text, float64(width), runes)
		strip := func(s string) string {
			return strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
					return -1
				}
				return r
			}, s)
		}
		if got, want := strip(strings.Join(lines, "")), strip(text); got != want {
			t.Fatalf("wrap(%q, %d) = %q: lost or added text (%q, want %q)", text, width, lines, got, want)
		}
		for _, l := range lines {
			// A grapheme cluster (a flag, a letter and its accents) is
			// never cut, so a line of one cluster may be wider.
			if runes(l) > float64(width) && uniseg.GraphemeClusterCount(l) > 1 {
				t.Fatalf("wrap(%q, %d): line %q is wider than %d", text, width, l, width)
			}
		}
	})
}
