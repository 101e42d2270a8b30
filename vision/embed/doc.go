// Package embed makes the photo commands' embedders (vision.Embedder) from
// YuNet's faces: the detector gives each face's box and five landmarks in
// one pass, and the landmarks align the face for the network, dlib's
// ResNet (its 150-pixel chip, cut from the five points or, to compare,
// from dlib's shape predictor run on YuNet's box) or an ONNX network (the
// ArcFace template at its input size). Optionally each descriptor is the
// mean of the face's and of its mirror image's (test-time mirroring).
//
// The live pipeline uses the same pieces (yunet.Detector,
// vision.AlignChip, dlib.Frames.DescribeChip, onnx.Net.DescribeChip)
// frame by frame; this package serves pictures.
//
// This is a cgo leaf (gocv, dlib).
package embed
