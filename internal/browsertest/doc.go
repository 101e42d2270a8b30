// Package browsertest starts Debian's headless Chromium for the tests that
// drive a page (chromedp): one set of flags for every such test, and a
// failure, not a skip, when Chromium is missing (scripts/setup-debian
// installs it).
package browsertest
