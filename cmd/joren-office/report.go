package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/office"
)

func newReportCommand(g *globals) *cobra.Command {
	var (
		dsn    string
		r      office.Range
		asCSV  bool
		totals bool
	)
	cmd := &cobra.Command{
		Use:   "report --from DAY --to DAY [--csv]",
		Short: "The numbers per shop, box and local day",
		Long: `report prints one line per shop, box and local day from --from to --to
(both included, YYYY-MM-DD, the shops' local days):

  site,device,day,visits,new_visitors,returning,regular_visits

visits counts visit events (each event id once); new_visitors the visits of
people the box had never seen; returning the others; regular_visits the
visits of regulars (the visit that made one included). Without --csv the same
as a table, with the return rate and a total line.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, d := range []struct{ name, day string }{{"--from", r.From}, {"--to", r.To}} {
				if err := office.CheckDay(d.name, d.day); err != nil {
					return usageError{err}
				}
			}
			if r.From > r.To {
				return usagef("--from %s is after --to %s", r.From, r.To)
			}
			if r.Device != "" && len(r.Sites) != 1 {
				return usagef("--device needs exactly one --site")
			}
			s, err := openExisting(cmd.Context(), g, dsn, office.Retention{})
			if err != nil {
				return err
			}
			defer s.Close()
			if asCSV {
				return office.WriteCSV(cmd.Context(), s, r, g.stdout)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SITE\tDEVICE\tDAY\tVISITS\tNEW\tRETURNING\tREGULAR\tRETURN RATE\t")
			var sum office.Counts
			rows := 0
			err = s.EachDay(cmd.Context(), r, func(d office.DayRow) error {
				sum = sum.Plus(d.Counts)
				rows++
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%.0f%%\t\n", d.Site, d.Device, d.Day, d.Visits, d.NewVisitors, d.Returning, d.RegularVisits, 100*d.ReturnRate())
				return nil
			})
			if err != nil {
				return err
			}
			if totals || rows > 1 {
				fmt.Fprintf(tw, "TOTAL\t\t%d days\t%d\t%d\t%d\t%d\t%.0f%%\t\n", rows, sum.Visits, sum.NewVisitors, sum.Returning, sum.RegularVisits, 100*sum.ReturnRate())
			}
			return tw.Flush()
		},
	}
	dbFlag(cmd, &dsn)
	fl := cmd.Flags()
	today := time.Now().Format(time.DateOnly)
	fl.StringVar(&r.From, "from", today, "first local day (YYYY-MM-DD)")
	fl.StringVar(&r.To, "to", today, "last local day (YYYY-MM-DD), included")
	fl.StringSliceVar(&r.Sites, "site", nil, "only these shops (repeat or comma-separate)")
	fl.StringVar(&r.Device, "device", "", "only this box (with one --site)")
	fl.BoolVar(&asCSV, "csv", false, "CSV with a header line, for a spreadsheet")
	fl.BoolVar(&totals, "total", false, "print the total line even for one row (table only)")
	return cmd
}
