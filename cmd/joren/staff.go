package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/cluster/identity"
)

func newStaffCommand(g *globals) *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "staff add|list|remove",
		Short: "Enrol staff: recognised at the door, never counted as customers",
		Long: `staff manages the staff members of the identity store (--store DIR or
JOREN_STORE). Staff walk through the door all day: their visits are recognised
and never counted as customer visits.

  joren staff add NAME IMAGE...   enrol the face in each image (the largest face of
                                  an image with several); adds to NAME's faces if
                                  NAME exists; makes the store if there is none
  joren staff list [--json]       the staff members and their enrolled images
  joren staff remove NAME         forget a staff member

No image is stored: only its face's descriptor and the file's name.`,
	}
	addPersonCommands(g, cmd, &sf, personKind{
		cmd: "staff", one: "a staff member",
		addShort: "Enrol a staff member's face from images", listShort: "The staff members", removeShort: "Forget a staff member",
		checkName: identity.CheckStaffName,
		add: func(s *openedStore, name string, faces enrolment) error {
			m, err := s.svc.AddStaff(name, faces.sources, faces.descs, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "staff %s: %d face(s) enrolled, %d in all\n", name, len(faces.descs), len(m.Exemplars))
			// A staff member counted as a customer before enrolment.
			if match, err := s.svc.Match(faces.descs); err == nil && match.Visitor != "" {
				fmt.Fprintf(g.stdout, "%s also matches visitor %s (%d visits on %d days); `joren forget --visitor %s` deletes that visitor\n",
					name, match.Visitor, match.Visits, match.Days, match.Visitor)
			}
			return nil
		},
		list: func(s *openedStore, asJSON bool) error {
			staff, err := s.svc.Staff()
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				for _, m := range staff {
					if err := enc.Encode(struct {
						Name    string    `json:"name"`
						Added   time.Time `json:"added"`
						Faces   int       `json:"faces"`
						Sources []string  `json:"sources"`
					}{m.Name, m.Added, len(m.Exemplars), m.Sources}); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tFACES\tADDED\tIMAGES")
			for _, m := range staff {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Name, len(m.Exemplars), m.Added.Format(time.DateOnly), strings.Join(m.Sources, " "))
			}
			return tw.Flush()
		},
		remove: func(s *openedStore, name string) error {
			ok, err := s.svc.RemoveStaff(name)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no staff member named %q (see `joren staff list`)", name)
			}
			fmt.Fprintf(g.stdout, "staff %s removed\n", name)
			return nil
		},
	})
	return cmd
}
