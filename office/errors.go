package office

// DataError is a Write that failed because of what a message holds (a
// value the database refuses), not because the database is away: the
// collector then writes the batch's messages one by one and quarantines
// the one that fails, instead of retrying it forever.
type DataError struct{ Err error }

func (e DataError) Error() string { return e.Err.Error() }
func (e DataError) Unwrap() error { return e.Err }
