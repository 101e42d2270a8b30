package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"joren/vision"
	"joren/vocab"
)

func newForgetCommand(g *globals) *cobra.Command {
	var (
		sf      storeFlags
		ff      faceFlags
		visitor string
		image   string
	)
	cmd := &cobra.Command{
		Use:   "forget --visitor ID | --image FILE",
		Short: "Delete a visitor with all their data",
		Long: `forget deletes one visitor from the identity store (--store DIR or
JOREN_STORE) with everything kept about them: descriptors, visit history,
logged decisions.

  joren forget --visitor ID    by id (an id merged into another finds the merged visitor)
  joren forget --image FILE    the visitor the photo's face matches (the largest face),
                               with the same evidence the door uses; nothing is
                               deleted when it matches nobody, or matches staff`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("forget takes no arguments (give --visitor ID or --image FILE)")
			}
			if (visitor == "") == (image == "") {
				return usagef("give either --visitor ID or --image FILE")
			}
			return sf.check() // before the image is embedded
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			model := vocab.Model{}
			var descs [][]float32
			if image != "" {
				ff.workers = 1
				finder, err := ff.open(g.modelDir)
				if err != nil {
					return err
				}
				faces, err := finder.File(image)
				finder.Close()
				if err != nil {
					return err
				}
				k := vision.Largest(faces)
				if k < 0 {
					return fmt.Errorf("%s: %w: nothing deleted", image, vision.ErrNoFace)
				}
				if len(faces) > 1 {
					g.log.Warn("several faces: matching the largest", "image", image, "faces", len(faces))
				}
				descs, model = [][]float32{faces[k].Descriptor}, finder.model
			}
			st, err := sf.open(g, storeRequest{access: change, model: model})
			if err != nil {
				return err
			}
			defer st.Close()
			svc, dir := st.svc, st.dir
			id := visitor
			if image != "" {
				m, err := svc.Match(descs)
				if err != nil {
					return err
				}
				switch {
				case m.Staff != "":
					return fmt.Errorf("%s shows staff member %s, not a visitor: `joren staff remove %s` removes staff; nothing deleted", image, m.Staff, m.Staff)
				case m.Visitor == "" && m.Nearest != "":
					return fmt.Errorf("%s matches no visitor (the nearest, %s, is too unlikely: log odds %.1f); nothing deleted", image, m.Nearest, m.LogOdds)
				case m.Visitor == "":
					return fmt.Errorf("%s matches no visitor: the store has none; nothing deleted", image)
				}
				id = m.Visitor
			}
			f, ok, err := svc.Forget(id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no visitor %s in %s; nothing deleted", id, dir)
			}
			fmt.Fprintf(g.stdout, "forgot visitor %s: %d visits on %d days, %d logged decisions deleted\n", f.ID, f.Visits, f.Days, f.Logged)
			return nil
		},
	}
	sf.register(cmd, false)
	ff.register(cmd)
	cmd.Flags().StringVar(&visitor, "visitor", "", "the visitor's id")
	cmd.Flags().StringVar(&image, "image", "", "a photo of the visitor")
	return cmd
}
