package notice

import (
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
)

// wrap breaks text into lines no wider than width (as measured by w) where
// Unicode's line breaking rules allow (UAX #14): between words in English,
// between most characters in Japanese but never before 。、」 or small kana.
// A newline always breaks. A piece wider than a line on its own (a long
// e-mail address) is cut between characters rather than overflowing.
func wrap(text string, width float64, w func(string) float64) []string {
	var lines []string
	line := ""
	state := -1
	for text != "" {
		var seg string
		var must bool
		seg, text, must, state = uniseg.FirstLineSegmentInString(text, state)
		cand := line + seg
		if line != "" && w(trimEnd(cand)) > width {
			lines = append(lines, trimEnd(line))
			cand = seg
		}
		for w(trimEnd(cand)) > width {
			var head string
			head, cand = cut(cand, width, w)
			lines = append(lines, head)
		}
		line = cand
		if must && text != "" {
			lines = append(lines, trimEnd(line))
			line = ""
		}
	}
	if l := trimEnd(line); l != "" {
		lines = append(lines, l)
	}
	return lines
}

// cut splits s after the most grapheme clusters that fit in width, at
// least one.
func cut(s string, width float64, w func(string) float64) (head, tail string) {
	state := -1
	n := 0
	for rest := s; rest != ""; {
		var g string
		g, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if n > 0 && w(s[:n+len(g)]) > width {
			break
		}
		n += len(g)
	}
	return trimEnd(s[:n]), strings.TrimLeftFunc(s[n:], unicode.IsSpace)
}

func trimEnd(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) }
