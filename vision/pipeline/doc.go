// Package pipeline turns a stream of camera frames into visits, fast
// enough for a Raspberry Pi 4, in three stages that run at the same time:
//
//	capture ──frames──▶ detect ──faces──▶ track ──visits──▶
//
// Each stage:
//
//   - capture (package capture) reads the camera and never waits: frames
//     arriving while detect is busy are dropped and counted.
//   - detect runs the motion gate on every frame (package motion: about
//     0.2 ms at 640x480), and only where something moved, or around a
//     face seen within Hold, runs the face detector (YuNet, dlib's HOG or
//     MMOD) on that region, shrunk to DetectWidth. For each face it checks
//     size, then judges frontalness on the detector's five landmarks
//     (a FiveDetector: YuNet) or on the shape predictor's (5 ms), and
//     measures sharpness (package quality); faces worth a descriptor are
//     copied out of the frame, with their five landmarks, and the frame
//     goes back to capture.
//   - track (package track) links faces into tracks, asks for a
//     descriptor (22 ms) only for the few faces of a track that beat its
//     best so far, and emits a visit when a track ends.
//
// Detect and track run on different cores; dlib's models have one lock
// each, so a detection and a description never wait for each other.
//
// Each stage is a Run(ctx, in, out) error that closes out when it
// returns; Pipeline.Run supervises them with an errgroup: the first error
// cancels the others. Frames and face crops stay in memory; nothing is
// written to disk unless a Debug sink is given (`joren watch --debug-dir`).
// A Preview (the installer's live view) gets a copy of a few frames a
// second, only while it asks for them; a Sampler (enrolment from the box's
// page) gets the descriptor of the largest good face of a few frames, only
// while it asks for them, and never a picture.
//
// The package is pure Go: it takes its frames, its detector and its
// describer through the Source, Detector and Describer interfaces, which
// OpenCV's capture and package vision/camera/cv (dlib, an ONNX network,
// OpenCV to shrink frames) implement. So the appliance that runs it builds
// without cgo; the tests that run it on synthesised videos with the real
// models say //go:build cgo.
package pipeline
