// Package truth is the ground truth of a synthesised door video, as
// package doorsim writes it beside the video: who passes when, in which
// frames, and the timeline that maps frames to simulated days.
//
// It is pure Go, apart from doorsim, which needs cgo to draw: the
// appliance reads a video's timeline from it (camera.clock) and the demo
// and the tests score decisions against it, without linking OpenCV.
package truth
