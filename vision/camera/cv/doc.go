// Package cv is the real camera side, the one that needs cgo: frames from
// OpenCV's capture (package capture), faces found and described by dlib
// (package dlib) or an ONNX network through OpenCV's DNN (package onnx).
// Driver opens them as package camera's Faces and Source for the
// appliance; `joren watch` and the pipeline's tests use Faces directly.
//
// This is a cgo leaf: only the binary and tests that say //go:build cgo
// import it. Every gocv Mat it makes is closed: at once, or by Faces.Close
// for the buffer detection reuses.
package cv
