package onnx

// #cgo pkg-config: opencv4
// #cgo CXXFLAGS: -std=c++17
// #include "threads.h"
import "C"

// SetThreads sets how many threads OpenCV's parallel code (the DNN module's
// layers among it) may use: n < 0 restores OpenCV's default (one per
// core), 0 and 1 run everything on the calling thread. The setting is
// OpenCV's and process-wide: the binary's main sets it once. On a
// two-core board the live pipeline detects in one goroutine while it
// describes in another, so one thread per network keeps the two from
// fighting over the cores (docs/pipeline.md has the measurements).
func SetThreads(n int) { C.joren_cv_set_threads(C.int(n)) }

// Threads is the number of threads OpenCV's parallel code uses now.
func Threads() int { return int(C.joren_cv_threads()) }
