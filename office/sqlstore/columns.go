package sqlstore

// The daily table's hour columns, written out: a query is text the
// reader can check, not assembled at run time.
const (
	hourCols = "h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23"
	hourSums = "SUM(h00), SUM(h01), SUM(h02), SUM(h03), SUM(h04), SUM(h05), SUM(h06), SUM(h07), SUM(h08), SUM(h09), SUM(h10), SUM(h11), SUM(h12), SUM(h13), SUM(h14), SUM(h15), SUM(h16), SUM(h17), SUM(h18), SUM(h19), SUM(h20), SUM(h21), SUM(h22), SUM(h23)"
	hourIncs = `h00 = daily.h00 + excluded.h00,
	h01 = daily.h01 + excluded.h01,
	h02 = daily.h02 + excluded.h02,
	h03 = daily.h03 + excluded.h03,
	h04 = daily.h04 + excluded.h04,
	h05 = daily.h05 + excluded.h05,
	h06 = daily.h06 + excluded.h06,
	h07 = daily.h07 + excluded.h07,
	h08 = daily.h08 + excluded.h08,
	h09 = daily.h09 + excluded.h09,
	h10 = daily.h10 + excluded.h10,
	h11 = daily.h11 + excluded.h11,
	h12 = daily.h12 + excluded.h12,
	h13 = daily.h13 + excluded.h13,
	h14 = daily.h14 + excluded.h14,
	h15 = daily.h15 + excluded.h15,
	h16 = daily.h16 + excluded.h16,
	h17 = daily.h17 + excluded.h17,
	h18 = daily.h18 + excluded.h18,
	h19 = daily.h19 + excluded.h19,
	h20 = daily.h20 + excluded.h20,
	h21 = daily.h21 + excluded.h21,
	h22 = daily.h22 + excluded.h22,
	h23 = daily.h23 + excluded.h23`
)

// countCols are the rollups' counts, in office.Counts's order; sumCounts
// their sums.
const (
	countCols = "visits, new_visitors, returning_visits, regular_visits, became_regular"
	sumCounts = "SUM(visits), SUM(new_visitors), SUM(returning_visits), SUM(regular_visits), SUM(became_regular)"
)

// visitCols are the visits table's columns, in insertVisits's order.
const visitCols = "id, site, device, at, day, hour, zone, device_day, device_offset, period, visitor, is_new, visits, days, regular, became_regular, confidence, schema_version, received"
