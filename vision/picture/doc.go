// Package picture turns image files and camera frames into what the face
// recognizer reads: a JPEG of a colour picture, upright, no larger than
// asked.
//
// go-face decodes only 3-channel JPEG from memory. A JPEG that already is
// one is passed through untouched, so that libjpeg's strict decoder (which
// rejects truncated files) sees the original bytes and nothing is lost to
// re-encoding; anything else (PNG, grayscale or CMYK JPEG, a rotated phone
// photo, a picture larger than the limit, a frame) is decoded with OpenCV
// and encoded again at high quality.
//
// Pictures come from outside (a user's folder, a USB stick, a download), so
// none is trusted: its header is read first (ReadHeader) and its size
// checked against a pixel limit (Options.MaxPixels, DefaultMaxPixels sized
// for a 2 GB Raspberry Pi) before a byte of it is decoded, and a file too
// large to hold a picture within the limit is not even read (ReadFile).
// OpenCV is called through decode.cc, which turns every C++ exception into
// an error: gocv's own wrappers catch none, and an uncaught one aborts the
// process.
//
// This is a cgo leaf (gocv). Every Mat it makes is closed before it returns.
package picture
