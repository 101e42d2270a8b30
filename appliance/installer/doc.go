// Package installer serves the installer's page: a small web page on the
// shop's LAN, off by default and password protected, that an installer
// opens on a phone or laptop while mounting the box. It shows the live
// camera with the faces found drawn over it and their quality (to aim the
// camera and set its distance), the pipeline's counts, the last decisions
// as the staff light saw them (pseudonyms only), and a summary of the
// configuration (secrets redacted).
//
// The page consumes three things it declares here, which the appliance
// provides: a LiveView (*Live is one, fed by the pipeline's Preview hook),
// a Status (counts and the last decisions) and a Pseudonym function (the
// only way a decision's visitor reaches the page). Everything it serves is
// embedded in the binary (no CDN, no web font): the page works on a LAN
// without internet.
//
// Privacy: frames stay in memory. The pipeline copies a frame only while
// somebody logged in is watching, a few times a second; a frame is encoded
// as JPEG only when the page asks for it, served with Cache-Control:
// no-store, and dropped from memory seconds after the page stops asking.
// Nothing is written to disk. The page turns itself off after a while
// (installer.off_after_minutes). docs/installer.md has the details and the
// reasons for the choices (login form and session cookie rather than HTTP
// basic auth).
package installer
