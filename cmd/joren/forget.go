package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"joren/appliance/control"
	"joren/vision"
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
		Long: `forget deletes one visitor from the identity store (the device's: --config,
by default ` + deviceConfig + ` when it exists; or --store DIR, JOREN_STORE) with
everything kept about them: descriptors, visit history, logged decisions.

  joren forget --visitor ID    by id (an id merged into another finds the merged visitor)
  joren forget --image FILE    the visitor the photo's face matches (the largest face),
                               with the same evidence the door uses; nothing is
                               deleted when it matches nobody, or matches staff

While joren run runs on the store, the request goes through its control socket
(root or the service's user) and is decided between two visits at the door;
with --image only the face's descriptor is sent, never the photo.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("forget takes no arguments (give --visitor ID or --image FILE)")
			}
			if (visitor == "") == (image == "") {
				return usagef("give either --visitor ID or --image FILE")
			}
			return sf.check(cmd, g) // before the image is embedded
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var face control.Faces
			if image != "" {
				p, err := sf.resolve(cmd, g)
				if err != nil {
					return err
				}
				if face, err = imageFace(g, &ff, p.faces(cmd, g, &ff), image); err != nil {
					return err
				}
			}
			s, err := sf.session(cmd, g, storeRequest{access: change, model: face.Model})
			if err != nil {
				return err
			}
			defer s.Close()
			var f control.Forgotten
			if image != "" {
				f, err = s.ops.ForgetFace(cmd.Context(), face)
				if err != nil {
					return opError(fmt.Errorf("%s %w", image, err))
				}
			} else if f, err = s.ops.Forget(cmd.Context(), visitor); err != nil {
				return opError(err)
			}
			fmt.Fprintf(g.stdout, "forgot visitor %s: %d visits on %d days, %d logged decisions deleted\n", f.Visitor, f.Visits, f.Days, f.Logged)
			return nil
		},
	}
	sf.register(cmd, false)
	sf.registerDevice(cmd)
	ff.register(cmd)
	cmd.Flags().StringVar(&visitor, "visitor", "", "the visitor's id")
	cmd.Flags().StringVar(&image, "image", "", "a photo of the visitor")
	return cmd
}

// imageFace is the descriptor of the largest face of an image.
func imageFace(g *globals, ff *faceFlags, modelDir, image string) (control.Faces, error) {
	ff.workers = 1
	finder, err := ff.open(modelDir)
	if err != nil {
		return control.Faces{}, err
	}
	faces, err := finder.File(image)
	finder.Close()
	if err != nil {
		return control.Faces{}, err
	}
	k := vision.Largest(faces)
	if k < 0 {
		return control.Faces{}, fmt.Errorf("%s: %w: nothing deleted", image, vision.ErrNoFace)
	}
	if len(faces) > 1 {
		g.log.Warn("several faces: matching the largest", "image", image, "faces", len(faces))
	}
	return control.Faces{Model: finder.model, Descriptors: [][]float32{faces[k].Descriptor}}, nil
}
