package appliance

import (
	"joren/device/indicator"
	"joren/vocab"
)

// kindOf says which of the indicator's patterns decision d calls for. It
// lives here, not in the indicator: the indicator plays patterns on lines
// and knows nothing of what the identity store decides.
func kindOf(d vocab.Decision) indicator.Kind {
	switch {
	case d.Staff != "":
		return indicator.Staff
	case d.Unknown:
		// Consent mode: someone who did not enrol is, for staff, as good
		// as a new face.
		return indicator.NewVisitor
	case d.BecameRegular:
		return indicator.BecameRegular
	case d.Regular:
		return indicator.Regular
	case d.New:
		return indicator.NewVisitor
	default:
		return indicator.Returning
	}
}
