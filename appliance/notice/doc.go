// Package notice makes the sign for the shop's door: what the box does with
// faces, why, what it keeps and for how long, whether anything goes to head
// office, how to be forgotten and whom to ask, in Japanese and English, for
// the store's mode (counting or consent).
//
// The sign is made from the configuration (FromConfig), never written by
// hand, so that it says what the box is set to do: the retention period,
// the regular policy, whether events leave the shop and how often their
// pseudonyms change. Print it again whenever one of those changes.
//
// Wording holds the text once, per language and mode; two renderers lay
// it out on one A4 page. PDF draws it with fpdf in a Japanese TrueType font
// found on the machine (FindFont: Debian's fonts-ipaexfont-gothic), which
// the PDF embeds as a subset, and breaks lines where Unicode's line
// breaking rules allow (UAX #14, through uniseg: no line starts with 。 or
// 」), shrinking the type until the page is full but not overflowing. HTML
// is a page to print from any browser (A4 print CSS, the reader's own
// Japanese fonts); it is what the box's own page can serve, since the box
// has neither a browser nor, on the image, a Japanese font.
package notice
