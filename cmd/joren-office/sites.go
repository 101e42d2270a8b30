package main

import (
	"fmt"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"joren/office"
)

func newSitesCommand(g *globals) *cobra.Command {
	var dsn string
	cmd := &cobra.Command{
		Use:   "sites [zone SITE ZONE]",
		Short: "The shops' time zones (list, or set one)",
		Long: `Visits are counted on the shop's local calendar. A box whose events carry
their local day and zone offset says it itself; for the others (events of
schema version 1) head office places each visit in its shop's zone, set here
('*' is the zone of every shop without its own; UTC until set):

  joren-office sites                              list the zones
  joren-office sites zone osaka-umeda Asia/Tokyo  set one
  joren-office sites zone '*' Europe/Paris        set the default

Setting a zone also moves the shop's stored visits to the right days and hours
and corrects the rollups, in one transaction.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || len(args) == 3 && args[0] == "zone" {
				return nil
			}
			return usagef("want no arguments (list) or: zone SITE ZONE")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openExisting(cmd.Context(), g, dsn, office.Retention{})
			if err != nil {
				return err
			}
			defer s.Close()
			if len(args) == 3 {
				moved, err := s.SetZone(cmd.Context(), args[1], args[2])
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s: %s (%d stored visits moved to another day or hour)\n", args[1], args[2], moved)
				return nil
			}
			zones, err := s.Zones(cmd.Context())
			if err != nil {
				return err
			}
			if _, ok := zones[office.DefaultZone]; !ok {
				zones[office.DefaultZone] = "UTC (not set)"
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SITE\tZONE")
			for _, site := range slices.Sorted(maps.Keys(zones)) {
				fmt.Fprintf(tw, "%s\t%s\n", site, zones[site])
			}
			return tw.Flush()
		},
	}
	dbFlag(cmd, &dsn)
	return cmd
}
