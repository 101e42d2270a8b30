package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/appliance/control"
	"joren/cluster/identity"
)

func newStaffCommand(g *globals) *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "staff add|list|remove",
		Short: "Enrol staff: recognised at the door, never counted as customers",
		Long: `staff manages the staff members of the identity store: the device's
(--config, by default ` + deviceConfig + ` when it exists), or --store DIR (or
JOREN_STORE). Staff walk through the door all day: their visits are recognised
and never counted as customer visits.

  joren staff add NAME IMAGE...   enrol the face in each image (the largest face of
                                  an image with several); adds to NAME's faces if
                                  NAME exists; makes the store if there is none
  joren staff list [--json]       the staff members and their enrolled images
  joren staff remove NAME         forget a staff member

While joren run runs on the store, these go through its control socket (root or
the service's user): the faces are embedded here, with the device's models, and
only their descriptors are sent. No image is stored: only its face's descriptor
and the file's name.`,
	}
	addPersonCommands(g, cmd, &sf, personKind{
		cmd: "staff", one: "a staff member",
		addShort: "Enrol a staff member's face from images", listShort: "The staff members", removeShort: "Forget a staff member",
		checkName: identity.CheckStaffName,
		add: func(cmd *cobra.Command, s *storeSession, e control.Enrolment) error {
			a, err := s.ops.AddStaff(cmd.Context(), e)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "staff %s: %d face(s) enrolled, %d in all\n", e.Name, a.Added, a.Staff.Faces)
			// A staff member counted as a customer before enrolment.
			if a.Visitor != "" {
				fmt.Fprintf(g.stdout, "%s was counted as visitor %s (%d visits on %d days): that visitor is forgotten, staff are not counted\n",
					e.Name, a.Visitor, a.Visits, a.Days)
			}
			if a.Customer != "" {
				fmt.Fprintf(g.stdout, "%s is also enrolled customer %s, who stays enrolled (`joren customers remove %s` if they should not be)\n",
					e.Name, a.Customer, a.Customer)
			}
			return nil
		},
		list: func(cmd *cobra.Command, s *storeSession, asJSON bool) error {
			staff, err := s.ops.Staff(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				for _, m := range staff {
					if err := enc.Encode(m); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tFACES\tADDED\tIMAGES")
			for _, m := range staff {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Name, m.Faces, m.Added.Format(time.DateOnly), strings.Join(m.Sources, " "))
			}
			return tw.Flush()
		},
		remove: func(cmd *cobra.Command, s *storeSession, name string) error {
			if err := s.ops.RemoveStaff(cmd.Context(), name); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "staff %s removed\n", name)
			return nil
		},
	})
	return cmd
}
