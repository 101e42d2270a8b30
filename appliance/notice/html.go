package notice

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
)

//go:embed sign.html
var signHTML string

// signTemplate parses the page (kept in no package variable: it takes
// microseconds, and signs are printed rarely).
func signTemplate() (*template.Template, error) {
	return template.New("sign").Parse(signHTML)
}

// HTML writes the sign as a page to print from a browser: one A4 sheet
// (print CSS), with the same text and layout as the PDF, in the reader's
// Japanese font. A small script shrinks the type, as the PDF does, if a
// long contact would push the text off the sheet.
func (p Page) HTML(w io.Writer) error {
	signs, err := p.signs()
	if err != nil {
		return err
	}
	t, err := signTemplate()
	if err != nil {
		return fmt.Errorf("door sign page: %w", err)
	}
	maxPt, minPt := typeSizes(len(signs))
	printLabel := "Print"
	if len(signs) == 2 {
		printLabel = "印刷 / Print"
	} else if signs[0].Lang == Japanese {
		printLabel = "印刷"
	}
	return t.Execute(w, map[string]any{
		"Lang":       signs[0].Lang,
		"Title":      signs[0].Banner + ": " + signs[0].Headline,
		"Signs":      signs,
		"Footer":     p.footer(signs),
		"MaxPt":      maxPt,
		"MinPt":      minPt,
		"PrintLabel": printLabel,
	})
}
