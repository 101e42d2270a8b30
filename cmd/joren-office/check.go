package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"joren/office"
)

func newCheckCommand(g *globals) *cobra.Command {
	var (
		dsn    string
		r      office.Range
		repair bool
	)
	cmd := &cobra.Command{
		Use:   "check [--from DAY --to DAY]",
		Short: "Check the daily rollups against the stored visits",
		Long: `check recomputes the rollups of the days from --from to --to from the stored
visits and prints every difference (exit status 3 if there is one). There is
none unless something is wrong: the rollups are written in the same
transaction as their visits. Days whose visits are past the event retention
have rollups only, and are not checked. --repair computes the rollups of
every day with stored visits again from them (after an import, or if check
ever finds a difference).`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openExisting(cmd.Context(), g, dsn, office.Retention{})
			if err != nil {
				return err
			}
			defer s.Close()
			m, err := s.Check(cmd.Context(), r)
			if err != nil {
				return err
			}
			for _, x := range m {
				fmt.Fprintf(g.stdout, "%s/%s %s: rollup %+v, visits %+v\n", x.Want.Site, x.Want.Device, x.Want.Day, x.Got.Counts, x.Want.Counts)
			}
			if len(m) > 0 && repair {
				if err := s.Rebuild(cmd.Context()); err != nil {
					return err
				}
				if m, err = s.Check(cmd.Context(), r); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "rollups computed again from the visits: %d difference(s) left\n", len(m))
			}
			if len(m) > 0 {
				return checkError{len(m)}
			}
			fmt.Fprintf(g.stdout, "rollups from %s to %s match their visits\n", r.From, r.To)
			return nil
		},
	}
	dbFlag(cmd, &dsn)
	cmd.Flags().StringVar(&r.From, "from", "2000-01-01", "first day checked")
	cmd.Flags().StringVar(&r.To, "to", time.Now().AddDate(0, 0, 1).Format(time.DateOnly), "last day checked")
	cmd.Flags().BoolVar(&repair, "repair", false, "compute the rollups again from the visits when they differ")
	return cmd
}
