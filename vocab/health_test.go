package vocab

import "testing"

func TestHealthProblems(t *testing.T) {
	h := Health{Status: StatusOK}
	h.Add(Problem{Key: "camera", Reason: "no frame for 47s: /dev/video0 does not exist"})
	if h.Status != StatusDegraded {
		t.Errorf("status %q after a problem", h.Status)
	}
	if p, ok := h.Problem("camera"); !ok || p.Reason == "" {
		t.Errorf("Problem(camera) = %+v, %v", p, ok)
	}
	if _, ok := h.Problem("store"); ok {
		t.Error("Problem(store) found")
	}
}
