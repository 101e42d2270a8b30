package notice

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"codeberg.org/go-pdf/fpdf"
)

// A4 and the sign's grid, in millimetres.
const (
	pageW, pageH = 210.0, 297.0
	margin       = 14.0
	labelEms     = 7.6 // the labels' column, in characters of the text's size
	colGap       = 5.0
	sepGap       = 7.0 // between the two languages
	ptMM         = 25.4 / 72
)

// Colours, 0xRRGGBB.
const (
	navy  = 0x18345e // banner, labels
	ink   = 0x1a1a1a // text
	grey  = 0x6e6e6e // footer
	rule  = 0xb4b4b4 // the line between languages
	white = 0xffffff
)

// PDF writes the sign as a one-page A4 PDF, drawn in font (embedded as a
// subset). The type is as large as lets everything fit on the page.
func (p Page) PDF(w io.Writer, font *Font) error {
	signs, err := p.signs()
	if err != nil {
		return err
	}
	if font == nil {
		return errors.New("door sign PDF: no font")
	}
	var text strings.Builder
	for _, s := range signs {
		text.WriteString(s.Banner + s.Headline + p.footer(signs))
		for _, r := range s.Rows {
			text.WriteString(r.Label + strings.Join(r.Paras, ""))
		}
	}
	if m := font.missing(text.String()); len(m) > 0 {
		return fmt.Errorf("font %s has no glyph for %s (in device.contact?): give a font that has them with --font", font.Path, quoteRunes(m))
	}
	pdf, err := draw(signs, p.footer(signs), font)
	if err != nil {
		return err
	}
	return pdf.Output(w)
}

// draw lays the signs out on a new PDF.
func draw(signs []Sign, footer string, font *Font) (*fpdf.Fpdf, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetTitle(signs[0].Banner+": "+signs[0].Headline, true)
	pdf.SetLang(string(signs[0].Lang))
	pdf.SetCreator("joren notice", true)
	pdf.AddPage()
	if err := useFont(pdf, font); err != nil {
		return nil, err
	}
	s := &pdfSign{pdf: pdf, signs: signs, foot: footer}
	if err := s.layout(); err != nil {
		return nil, err
	}
	if pdf.Err() {
		return nil, fmt.Errorf("door sign PDF with font %s: %w", font.Path, pdf.Error())
	}
	return pdf, nil
}

// useFont gives pdf the font. fpdf parses the font file, which is outside
// input: a font it cannot handle becomes an error here, never a panic that
// reaches the user.
func useFont(pdf *fpdf.Fpdf, font *Font) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("font %s: the PDF writer cannot use it (%v): give another TrueType font with --font", font.Path, r)
		}
	}()
	pdf.AddUTF8FontFromBytes("sign", "", font.data)
	pdf.SetFont("sign", "", 12)
	if pdf.Err() {
		return fmt.Errorf("font %s: the PDF writer cannot use it (%w): give another TrueType font with --font", font.Path, pdf.Error())
	}
	return nil
}

type pdfSign struct {
	pdf   *fpdf.Fpdf
	signs []Sign
	foot  string
}

// layout draws the banner, the languages' blocks and the footer, trying
// type sizes from large to small until the blocks fit; space left over
// goes between the rows, a little at most.
func (s *pdfSign) layout() error {
	maxPt, minPt := typeSizes(len(s.signs))
	bannerH := 24.0
	if len(s.signs) == 2 {
		bannerH = 31.0
	}
	s.banner(margin, margin, pageW-2*margin, bannerH)
	top := margin + bannerH + 7
	bottom := pageH - margin
	if s.footer(false) {
		bottom -= 7
	}
	for pt := maxPt; pt >= minPt; pt -= 0.25 {
		h := s.blocks(top, pt, 0, false)
		if h > bottom-top {
			continue
		}
		gaps := 0
		for _, sg := range s.signs {
			gaps += len(sg.Rows) + 1
		}
		extra := min((bottom-top-h)/float64(gaps), pt*ptMM)
		s.blocks(top, pt, extra, true)
		s.footer(true)
		return nil
	}
	return fmt.Errorf("the door sign's text does not fit on one A4 page even at %v pt: shorten device.contact", minPt)
}

// blocks lays out every language from top at pt, with extra space after
// the headline and each row, and returns the height used.
func (s *pdfSign) blocks(top, pt, extra float64, draw bool) float64 {
	y := top
	for i, sg := range s.signs {
		if i > 0 {
			y += sepGap + extra
			if draw {
				s.color(rule)
				s.pdf.SetLineWidth(0.3)
				s.pdf.Line(margin, y-(sepGap+extra)/2, pageW-margin, y-(sepGap+extra)/2)
			}
		}
		y += s.block(sg, y, pt, extra, draw)
	}
	return y - top
}

// block lays out one language: its headline, then its rows, the labels in
// a column of their own.
func (s *pdfSign) block(sg Sign, top, pt, extra float64, draw bool) float64 {
	width := pageW - 2*margin
	labelW := pt * ptMM * labelEms
	textX := margin + labelW + colGap
	y := top
	y += s.lines(sg.Headline, sg.Lang, margin, y, width, pt*1.3, ink, true, draw)
	y += pt*ptMM*0.9 + extra
	for _, r := range sg.Rows {
		hl := s.lines(r.Label, sg.Lang, margin, y, labelW, pt, navy, true, draw)
		ht := 0.0
		for _, para := range r.Paras {
			ht += s.lines(para, sg.Lang, textX, y+ht, width-labelW-colGap, pt, ink, false, draw)
		}
		y += max(hl, ht) + pt*ptMM*0.6 + extra
	}
	return y - top
}

// lines wraps text to width at pt and draws it (if draw) from top; it
// returns the height of the lines.
func (s *pdfSign) lines(text string, lang Lang, x, top, width, pt float64, color int, bold, draw bool) float64 {
	s.pdf.SetFontSize(pt)
	lh := pt * ptMM * 1.5
	if lang == English {
		lh = pt * ptMM * 1.38
	}
	ls := wrap(text, width, s.pdf.GetStringWidth)
	if draw {
		s.color(color)
		for i, l := range ls {
			s.text(x, top+float64(i)*lh+(lh-pt*ptMM)/2+0.88*pt*ptMM, l, pt, bold)
		}
	}
	return float64(len(ls)) * lh
}

// text draws one line with its baseline at y; bold strokes the glyphs'
// outlines as well as filling them (the font has no bold face).
func (s *pdfSign) text(x, y float64, l string, pt float64, bold bool) {
	if bold {
		s.pdf.SetTextRenderingMode(2)
		s.pdf.SetLineWidth(pt * ptMM * 0.045)
	}
	s.pdf.Text(x, y, l)
	if bold {
		s.pdf.SetTextRenderingMode(0)
	}
}

// color sets the fill and stroke colours (text is filled, bold stroked).
func (s *pdfSign) color(c int) {
	r, g, b := c>>16&0xff, c>>8&0xff, c&0xff
	s.pdf.SetTextColor(r, g, b)
	s.pdf.SetDrawColor(r, g, b)
	s.pdf.SetFillColor(r, g, b)
}

// banner is the band seen from the street: a camera and, in each
// language, that face recognition is in use.
func (s *pdfSign) banner(x, y, w, h float64) {
	s.color(navy)
	s.pdf.RoundedRect(x, y, w, h, 3, "1234", "F")
	s.camera(x+17, y+h/2)
	textX := x + 34
	textW := w - 34 - 5
	sizes := []float64{24}
	if len(s.signs) == 2 {
		sizes = []float64{21, 14}
	}
	lineY := y + h/2 + sizes[0]*ptMM*0.35
	if len(s.signs) == 2 {
		lineY = y + h*0.45
	}
	for i, sg := range s.signs {
		pt := sizes[i]
		s.pdf.SetFontSize(pt)
		for s.pdf.GetStringWidth(sg.Banner) > textW && pt > 8 {
			pt -= 0.5
			s.pdf.SetFontSize(pt)
		}
		s.color(white)
		s.text(textX, lineY, sg.Banner, pt, true)
		lineY += sizes[i]*ptMM*0.6 + 5
	}
}

// camera draws a camera pictogram centred on (cx, cy), white on navy.
func (s *pdfSign) camera(cx, cy float64) {
	s.color(white)
	s.pdf.RoundedRect(cx-11, cy-6, 22, 14, 2, "1234", "F")
	s.pdf.RoundedRect(cx-8, cy-9, 8, 4, 1, "12", "F")
	s.color(navy)
	s.pdf.Circle(cx+1, cy+1, 4.8, "F")
	s.color(white)
	s.pdf.Circle(cx+1, cy+1, 3.2, "F")
	s.color(navy)
	s.pdf.Circle(cx+1, cy+1, 1.7, "F")
	s.pdf.Circle(cx+7.5, cy-3.2, 0.9, "F")
}

// footer draws (if draw) the shop and the box's names at the bottom, and
// tells whether there are any.
func (s *pdfSign) footer(draw bool) bool {
	if s.foot == "" {
		return false
	}
	if draw {
		s.pdf.SetFontSize(8)
		s.color(grey)
		s.pdf.Text(margin, pageH-margin, s.foot)
	}
	return true
}

// quoteRunes lists runes for an error: 'ア' (U+30A2), ...
func quoteRunes(rs []rune) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%q (%U)", r, r)
	}
	return strings.Join(out, ", ")
}
