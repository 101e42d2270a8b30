// Package frame holds camera frames in memory: BGR pixels (OpenCV's CV_8UC3
// layout, which dlib's frame functions read too), the frame's place in the
// stream, and a way to give its buffer back to the source that filled it.
//
// Frames live in Go memory, not in gocv Mats: the capture copies each
// decoded picture once (about 0.1 ms at 640x480) so that every later stage
// can keep views and crops without a Mat to close, and so that the motion
// gate, the quality gate and the tracker stay pure Go.
//
// Nothing in this package writes pixels anywhere: frames and crops stay in
// memory (see docs/pipeline.md on privacy).
package frame
