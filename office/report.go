package office

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
)

// csvHeader is the header line of the daily numbers as CSV.
var csvHeader = []string{"site", "device", "day", "visits", "new_visitors", "returning", "regular_visits"}

// WriteCSV writes r's rollups from s as CSV, one line per shop, box and
// local day after the header
// site,device,day,visits,new_visitors,returning,regular_visits: what
// joren-office report --csv prints and the dashboard downloads.
func WriteCSV(ctx context.Context, s Store, r Range, w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	r.NoHours = true
	err := s.EachDay(ctx, r, func(d DayRow) error {
		return cw.Write([]string{d.Site, d.Device, d.Day, itoa(d.Visits), itoa(d.NewVisitors), itoa(d.Returning), itoa(d.RegularVisits)})
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}
