package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/cluster/identity"
	"joren/vocab"
)

func newStaffCommand(g *globals) *cobra.Command {
	var (
		sf     storeFlags
		ff     faceFlags
		asJSON bool
	)
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
	add := &cobra.Command{
		Use:   "add NAME IMAGE...",
		Short: "Enrol a staff member's face from images",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("staff add needs a name and at least one image")
			}
			if err := identity.CheckStaffName(args[0]); err != nil {
				return usagef("%v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := sf.needDir()
			if err != nil {
				return err
			}
			name, images := args[0], args[1:]
			// Every image must give a face before anything is stored.
			descs, sources, model, err := enrolFaces(g, &ff, images)
			if err != nil {
				return err
			}
			st, svc, err := sf.openService(g, dir, model, true)
			if err != nil {
				return err
			}
			defer st.Close()
			m, err := svc.AddStaff(name, sources, descs, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "staff %s: %d face(s) enrolled, %d in all\n", name, len(descs), len(m.Exemplars))
			// A staff member counted as a customer before enrolment.
			if match, err := svc.Match(descs); err == nil && match.Visitor != "" {
				fmt.Fprintf(g.stdout, "%s also matches visitor %s (%d visits on %d days); `joren forget --visitor %s` deletes that visitor\n",
					name, match.Visitor, match.Visits, match.Days, match.Visitor)
			}
			return nil
		},
	}
	ff.register(add)
	list := &cobra.Command{
		Use:   "list",
		Short: "The staff members",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := sf.needDir()
			if err != nil {
				return err
			}
			st, svc, err := sf.openService(g, dir, vocab.Model{}, false)
			if err != nil {
				return err
			}
			defer st.Close()
			staff, err := svc.Staff()
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
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a staff member")
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Forget a staff member",
		Args:  exactArgs(1, "a staff member's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := sf.needDir()
			if err != nil {
				return err
			}
			st, svc, err := sf.openService(g, dir, vocab.Model{}, false)
			if err != nil {
				return err
			}
			defer st.Close()
			ok, err := svc.RemoveStaff(args[0])
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no staff member named %q (see `joren staff list`)", args[0])
			}
			fmt.Fprintf(g.stdout, "staff %s removed\n", args[0])
			return nil
		},
	}
	for _, c := range []*cobra.Command{add, list, remove} {
		sf.register(c, false)
		cmd.AddCommand(c)
	}
	return cmd
}
