package notice

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The tests read the PDFs back with Poppler's tools (Debian's
// poppler-utils, installed by scripts/setup-debian), as a printer driver
// or a reader would.

func poppler(t *testing.T, tool string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s is missing: install poppler-utils (scripts/setup-debian): %v", tool, err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pdfFile writes b to a temporary file for the tools.
func pdfFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sign.pdf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// squeeze drops every space and line break: lines are wrapped where the
// layout chose, and the text must be there whatever the wrapping.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// pdfText is the PDF's text in the order it was drawn, squeezed.
func pdfText(t *testing.T, path string) string {
	return squeeze(poppler(t, "pdftotext", "-raw", "-enc", "UTF-8", path, "-"))
}

var pagesRE = regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`)
var sizeRE = regexp.MustCompile(`(?m)^Page size:\s+([\d.]+) x ([\d.]+) pts`)

// checkOneA4 fails unless the PDF is exactly one A4 page.
func checkOneA4(t *testing.T, path string) {
	t.Helper()
	info := poppler(t, "pdfinfo", path)
	if m := pagesRE.FindStringSubmatch(info); m == nil || m[1] != "1" {
		t.Errorf("%s: not one page:\n%s", path, info)
	}
	// A4 is 595.28 x 841.89 points; Chromium rounds to whole pixels.
	m := sizeRE.FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("%s: no page size:\n%s", path, info)
	}
	w, _ := strconv.ParseFloat(m[1], 64)
	h, _ := strconv.ParseFloat(m[2], 64)
	if math.Abs(w-595.28) > 1 || math.Abs(h-841.89) > 1 {
		t.Errorf("%s: %v x %v pts, not A4 (595.28 x 841.89)", path, w, h)
	}
}

// checkSays fails for every piece of want missing from text (both
// squeezed).
func checkSays(t *testing.T, what, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, squeeze(w)) {
			t.Errorf("%s does not say %q", what, w)
		}
	}
}

// signText is every piece of text of the signs: what the page must show.
func signText(signs []Sign) []string {
	var out []string
	for _, s := range signs {
		out = append(out, s.Banner, s.Headline)
		for _, r := range s.Rows {
			out = append(out, r.Label)
			out = append(out, r.Paras...)
		}
	}
	return out
}
