package notice

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode"

	"golang.org/x/image/font/sfnt"
)

// DefaultFonts are where FindFont looks for a Japanese TrueType font, best
// first: IPAex Gothic (Debian's fonts-ipaexfont-gothic; the IPA Font
// License allows embedding it in documents and shipping it unchanged), the
// system's choice of Japanese gothic font, then IPA Gothic.
func DefaultFonts() []string {
	return []string{
		"/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
		"/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
		"/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
		"/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
	}
}

// Font is a TrueType font the PDF embeds (a subset: the glyphs the sign
// uses).
type Font struct {
	Path string
	data []byte
	sf   *sfnt.Font
}

// LoadFont reads a TrueType font file (.ttf with glyf outlines: what the
// PDF writer can embed).
func LoadFont(path string) (*Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("font: %w", err)
	}
	bad := func(why string) error {
		return fmt.Errorf("font %s %s: give a TrueType font with Japanese glyphs (.ttf), such as IPAex Gothic from Debian's fonts-ipaexfont-gothic", path, why)
	}
	switch {
	case len(data) < 12:
		return nil, bad("is not a font")
	case bytes.HasPrefix(data, []byte("OTTO")):
		return nil, bad("has PostScript (CFF) outlines, which the PDF writer cannot embed")
	case bytes.HasPrefix(data, []byte("ttcf")):
		return nil, bad("is a collection of fonts (.ttc), which the PDF writer cannot embed")
	case !bytes.HasPrefix(data, []byte{0, 1, 0, 0}) && !bytes.HasPrefix(data, []byte("true")):
		return nil, bad("is not a TrueType font")
	}
	sf, err := sfnt.Parse(data)
	if err != nil {
		return nil, bad(fmt.Sprintf("is damaged (%v)", err))
	}
	return &Font{Path: path, data: data, sf: sf}, nil
}

// FindFont loads the first of paths (DefaultFonts if none) this machine
// has.
func FindFont(paths ...string) (*Font, error) {
	if len(paths) == 0 {
		paths = DefaultFonts()
	}
	for _, p := range paths {
		f, err := LoadFont(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no Japanese TrueType font found (looked for %s): install Debian's fonts-ipaexfont-gothic, or name a .ttf font with --font", strings.Join(paths, ", "))
}

// missing returns the characters of text the font has no glyph for, once
// each, in order.
func (f *Font) missing(text string) []rune {
	var b sfnt.Buffer
	var out []rune
	seen := map[rune]bool{}
	for _, r := range text {
		if seen[r] || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		seen[r] = true
		if g, err := f.sf.GlyphIndex(&b, r); err != nil || g == 0 {
			out = append(out, r)
		}
	}
	return out
}
