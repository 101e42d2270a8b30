package notice

import (
	"fmt"
	"slices"
	"strings"

	"joren/cluster/store"
)

// Page is the door sign: Facts in one or both languages on one A4 page.
type Page struct {
	Facts Facts
	// Langs are the sign's languages, in order (default Japanese, then
	// English).
	Langs []Lang
}

// signs checks the page and returns its text, one Sign per language.
func (p Page) signs() ([]Sign, error) {
	if err := p.Facts.Check(); err != nil {
		return nil, fmt.Errorf("the door sign cannot say what this box does: %w", err)
	}
	langs := p.Langs
	if len(langs) == 0 {
		langs = []Lang{Japanese, English}
	}
	if len(langs) > 2 || (len(langs) == 2 && langs[0] == langs[1]) {
		return nil, fmt.Errorf("door sign: languages %v: want ja, en or both", langs)
	}
	signs := make([]Sign, len(langs))
	for i, l := range langs {
		if !slices.Contains([]Lang{Japanese, English}, l) {
			return nil, fmt.Errorf("door sign: language %q: want ja or en", l)
		}
		signs[i] = Wording(p.Facts, l)
	}
	return signs, nil
}

// typeSizes are the largest and the smallest size, in points, of the
// sign's text in n languages: the renderers take the largest that fits.
func typeSizes(n int) (maxPt, minPt float64) {
	if n == 2 {
		return 12.5, 7.5
	}
	return 17, 9
}

// footer names the shop and the box under the signs' labels ("店舗・機器 /
// Shop and device: shibuya-1 / door-1"), or nothing if the configuration
// names neither.
func (p Page) footer(signs []Sign) string {
	var names, labels []string
	for _, n := range []string{p.Facts.Site, p.Facts.Device} {
		if n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	for _, s := range signs {
		labels = append(labels, s.Footer)
	}
	return strings.Join(labels, " / ") + ": " + strings.Join(names, " / ")
}

// Describe says in a few words what the page is: "counting mode, ja+en".
func (p Page) Describe() string {
	langs := "ja+en"
	if len(p.Langs) > 0 {
		langs = string(p.Langs[0])
		if len(p.Langs) > 1 {
			langs += "+" + string(p.Langs[1])
		}
	}
	mode := "counting"
	if p.Facts.Mode == store.Consent {
		mode = "consent"
	}
	return fmt.Sprintf("%s mode, %s, %d days' retention", mode, langs, p.Facts.RetentionDays)
}
