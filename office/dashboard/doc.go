// Package dashboard is head office's web page: the fleet (every box,
// online or not, its health and its alerts) and the numbers per shop and
// per day (visits, new visitors, returning, regular visits, return rate,
// an hour-by-weekday heatmap), comparable across shops and date ranges,
// with a CSV download; plus /metrics for Prometheus and /healthz.
//
// Charts are drawn by Chart.js and its matrix plugin, vendored from npm
// with their licences (web/vendor/VENDOR.md) and served from the binary.
//
// Access: one password (read from a file by the binary), a session
// cookie (HttpOnly, SameSite=Strict, Secure behind TLS) that expires
// after 12 hours without a request, logins limited per client address
// (golang.org/x/time/rate), and http.CrossOriginProtection against
// cross-site requests on every state-changing method. /metrics and
// /healthz need no login: they carry no shop's numbers.
package dashboard
