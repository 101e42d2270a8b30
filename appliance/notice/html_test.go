package notice

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"joren/cluster/store"
	"joren/internal/browsertest"
)

// The page, printed by Debian's headless Chromium as a shop owner's
// browser would print it: one A4 sheet holding all of the sign's text, in
// a Japanese font (not boxes), for every mode and language, and with the
// longest contact allowed.
func TestHTMLPrints(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bctx := browsertest.Start(t, ctx, 1000, 1200)

	base := FromConfig(loadConfig(t, shopConfig))
	longest := base
	longest.Contact = strings.TrimSuffix(strings.Repeat(strings.Repeat("喫茶ほし京都祇園店 ", 6)[:0]+strings.Repeat("喫", MaxContactChars/MaxContactLines-1)+"\n", MaxContactLines), "\n")
	cases := []struct {
		name  string
		page  Page
		fonts bool // Japanese text: the PDF must embed a Japanese font
	}{
		{"counting ja+en", Page{Facts: with(base, store.Counting, true)}, true},
		{"consent ja+en", Page{Facts: with(base, store.Consent, false)}, true},
		{"counting ja", Page{Facts: with(base, store.Counting, false), Langs: []Lang{Japanese}}, true},
		{"consent en", Page{Facts: with(base, store.Consent, true), Langs: []Lang{English}}, false},
		{"longest contact", Page{Facts: longest}, true},
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.page.HTML(&b); err != nil {
				t.Fatal(err)
			}
			page := filepath.Join(dir, strconv.Itoa(i)+".html")
			if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			sctx, scancel := context.WithTimeout(bctx, 30*time.Second)
			defer scancel()
			if err := chromedp.Do(sctx, chromedp.Navigate("file://"+page), chromedp.WaitReady(chromedp.ID("body"))); err != nil {
				t.Fatal(err)
			}
			fitted, err := chromedp.Run(sctx, chromedp.Poll[string](`document.documentElement.dataset.fitted`))
			if err != nil {
				t.Fatalf("the page never fitted its text: %v", err)
			}
			overflow, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`(() => { const b = document.getElementById('body'); return b.scrollHeight > b.clientHeight + 1 })()`))
			if err != nil || overflow {
				t.Fatalf("the text overflows the sheet at %s pt (%v)", fitted, err)
			}
			pdf, err := chromedp.Run(sctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
			if err != nil {
				t.Fatal(err)
			}
			path := pdfFile(t, pdf)
			checkOneA4(t, path)
			signs, err := c.page.signs()
			if err != nil {
				t.Fatal(err)
			}
			text := pdfText(t, path)
			checkSays(t, "the printed page", text, signText(signs)...)
			checkSays(t, "the printed page", text, "kyoto-gion / door-2")
			if strings.Contains(text, "Print") || strings.Contains(text, "印刷") {
				t.Error("the print button is printed")
			}
			if fonts := poppler(t, "pdffonts", path); c.fonts && !strings.Contains(fonts, "IPAex") {
				t.Errorf("Chromium printed without a Japanese font:\n%s", fonts)
			}
			maxPt, minPt := typeSizes(len(signs))
			pt, _ := strconv.ParseFloat(fitted, 64)
			if pt < minPt || pt > maxPt {
				t.Errorf("type at %s pt, want %v-%v", fitted, minPt, maxPt)
			}
			t.Logf("type at %s pt", fitted)
		})
	}
}

func with(f Facts, mode store.Mode, headOffice bool) Facts {
	f.Mode, f.HeadOffice = mode, headOffice
	return f
}

// The configuration's text is text in the page, never markup.
func TestHTMLEscapes(t *testing.T) {
	f := FromConfig(loadConfig(t, shopConfig))
	f.Contact = `Hoshi <script>alert("x")</script>` + "\n" + `<img src=x onerror=alert(1)>`
	var b bytes.Buffer
	if err := (Page{Facts: f}).HTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img") {
		t.Errorf("the contact became markup:\n%s", page)
	}
	if !strings.Contains(page, "Hoshi &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("the contact is not shown as text")
	}
}
