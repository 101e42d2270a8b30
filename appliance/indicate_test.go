package appliance

import (
	"testing"

	"joren/device/indicator"
	"joren/vocab"
)

func TestKindOf(t *testing.T) {
	cases := []struct {
		d    vocab.Decision
		want indicator.Kind
	}{
		{vocab.Decision{Staff: "Mina", Regular: true}, indicator.Staff},
		{vocab.Decision{Regular: true, BecameRegular: true}, indicator.BecameRegular},
		{vocab.Decision{Regular: true, Visits: 9}, indicator.Regular},
		{vocab.Decision{New: true, Visits: 1}, indicator.NewVisitor},
		{vocab.Decision{Visits: 2}, indicator.Returning},
		{vocab.Decision{Unknown: true, Confidence: 0.8}, indicator.NewVisitor},
	}
	for _, c := range cases {
		if got := kindOf(c.d); got != c.want {
			t.Errorf("kindOf(%+v) = %s, want %s", c.d, got, c.want)
		}
	}
}
