package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"joren/appliance/config"
	"joren/appliance/notice"
	"joren/internal/atomicfile"
)

func newNoticeCommand(g *globals) *cobra.Command {
	var cfgPath, pdfPath, htmlPath, langs, fontPath string
	cmd := &cobra.Command{
		Use:   "notice --config FILE (--pdf FILE | --html FILE)",
		Short: "Make the door sign (A4, Japanese and English) from the box's configuration",
		Long: `notice makes the sign to put up at the shop's door, from the box's own
configuration, so that it says what the box does: whether it recognises every
returning customer (store.mode counting) or only enrolled members (consent),
the purpose, that faces stay in the box and no picture is kept, how long
visitors are kept (store.retention_days), who counts as a regular, whether
pseudonymous visit counts go to head office (events.broker, and how often
their pseudonyms change), how to be forgotten (ask any member of staff), and
who is responsible (device.contact, which must be set).

--pdf writes a one-page A4 PDF, drawn in a Japanese TrueType font found on
this machine (Debian's fonts-ipaexfont-gothic) or given with --font; it embeds
the glyphs it uses. --html writes a page to print from any browser (A4 print
CSS). "-" writes to standard output. Both languages go on one page unless
--lang picks one. Print the sign again whenever the mode, the retention, the
regular policy, the broker or the contact changes.`,
		Args: exactArgs(0, "no arguments (the configuration is --config)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return usagef("joren notice needs --config FILE: the box's joren.yaml, so that the sign says what the box does")
			}
			if pdfPath == "" && htmlPath == "" {
				return usagef("joren notice needs --pdf FILE or --html FILE (or both)")
			}
			ls, err := notice.ParseLangs(langs)
			if err != nil {
				return usagef("--lang: %v", err)
			}
			// The sign may be printed on another computer than the box: its
			// files and devices are not checked here.
			cfg, _, err := config.Load(cfgPath, config.Options{Environ: environ()})
			if err != nil {
				return err
			}
			page := notice.Page{Facts: notice.FromConfig(cfg), Langs: ls}
			if err := page.Facts.Check(); err != nil {
				return fmt.Errorf("%s: the door sign cannot say what this box does: %w", cfgPath, err)
			}
			if pdfPath != "" {
				font, err := noticeFont(fontPath)
				if err != nil {
					return err
				}
				if err := writeOutput(g, pdfPath, func(w io.Writer) error { return page.PDF(w, font) }); err != nil {
					return err
				}
				if pdfPath != "-" {
					fmt.Fprintf(g.stderr, "wrote %s: the door sign (PDF, A4, %s; font %s)\n", pdfPath, page.Describe(), font.Path)
				}
			}
			if htmlPath != "" {
				if err := writeOutput(g, htmlPath, page.HTML); err != nil {
					return err
				}
				if htmlPath != "-" {
					fmt.Fprintf(g.stderr, "wrote %s: the door sign (a page to print on A4, %s)\n", htmlPath, page.Describe())
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "the box's configuration file (joren.yaml)")
	cmd.Flags().StringVar(&pdfPath, "pdf", "", "write the sign as a one-page A4 PDF to FILE (- for standard output)")
	cmd.Flags().StringVar(&htmlPath, "html", "", "write the sign as a page to print (A4) to FILE (- for standard output)")
	cmd.Flags().StringVar(&langs, "lang", "ja,en", "languages of the sign, in order: ja,en, en,ja, ja or en")
	cmd.Flags().StringVar(&fontPath, "font", "", "TrueType font with Japanese glyphs for the PDF (default: IPAex or IPA Gothic where Debian installs them)")
	return cmd
}

// noticeFont loads the font given, or finds one.
func noticeFont(path string) (*notice.Font, error) {
	if path != "" {
		return notice.LoadFont(path)
	}
	return notice.FindFont()
}

// writeOutput renders into memory first, so that a failure leaves no half
// sign behind, then replaces path (or writes to standard output for "-").
func writeOutput(g *globals, path string, render func(io.Writer) error) error {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	if path == "-" {
		_, err := g.stdout.Write(b.Bytes())
		return err
	}
	return atomicfile.WriteFile(path, b.Bytes(), 0o644)
}
