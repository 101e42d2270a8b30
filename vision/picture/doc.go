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
// This is a cgo leaf (gocv). Every Mat it makes is closed before it returns.
package picture
