package installer

import (
	"errors"
	"net/http"
	"slices"

	"joren/appliance/config"
)

// EditableKeys are the settings the page changes (installers only): the
// shop's and the box's names, the regular policy, retention, and the
// page's own schedule. Everything else is set in joren.yaml.
var EditableKeys = []string{
	"device.site",
	"device.id",
	"regular.days",
	"regular.window_days",
	"regular.merge_minutes",
	"store.retention_days",
	"installer.off_after_minutes",
}

// settingLabels name the editable keys in the shop's words (the key is
// shown beside, as joren.yaml spells it).
var settingLabels = map[string]string{
	"device.site":                 "Shop's name (as head office knows it)",
	"device.id":                   "This box's name",
	"regular.days":                "A regular comes on this many days…",
	"regular.window_days":         "…within this many days",
	"regular.merge_minutes":       "Passages this close are one visit (minutes)",
	"store.retention_days":        "Forget visitors not seen for (days)",
	"installer.off_after_minutes": "This page turns itself off after (minutes)",
}

// settingsJSON answers a settings change: the problems by key, or that
// joren restarts to apply it.
type settingsJSON struct {
	Restarting bool              `json:"restarting,omitempty"`
	Error      string            `json:"error,omitempty"`
	Problems   map[string]string `json:"problems,omitempty"`
}

// saveSettings checks and applies new values of EditableKeys: the
// configuration's own checker validates them (the file's other keys
// included), and joren restarts to apply them.
func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request) {
	var req map[string]string
	if !readJSON(w, r, &req) {
		return
	}
	var changes []config.Override
	for _, k := range EditableKeys {
		if v, ok := req[k]; ok {
			changes = append(changes, config.Override{Key: k, Value: v})
		}
	}
	for k := range req {
		if !slices.Contains(EditableKeys, k) {
			writeJSON(w, http.StatusBadRequest, settingsJSON{Error: "the page does not change " + k + ": set it in joren.yaml"})
			return
		}
	}
	if len(changes) == 0 {
		writeJSON(w, http.StatusBadRequest, settingsJSON{Error: "nothing to change"})
		return
	}
	err := s.opt.Configure(changes)
	var ce *config.Error
	switch {
	case errors.As(err, &ce):
		out := settingsJSON{Error: "Not saved: the configuration would have problems.", Problems: map[string]string{}}
		for _, p := range ce.Problems {
			k := p.Key
			if !slices.Contains(EditableKeys, k) {
				k = "" // a problem of another key: shown above the form
			}
			if out.Problems[k] != "" {
				out.Problems[k] += "; "
			}
			out.Problems[k] += p.Msg
		}
		writeJSON(w, http.StatusUnprocessableEntity, out)
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, settingsJSON{Error: "Not saved: " + err.Error()})
		return
	}
	s.log.Info("installer page: settings changed; joren restarts to apply them", "remote", clientIP(r), "keys", len(changes))
	writeJSON(w, http.StatusOK, settingsJSON{Restarting: true})
}
