// Package onnx runs face recognition networks (ONNX files) with OpenCV's
// DNN module through gocv.
//
// ArcFace-style networks (Net, Embedder): each face is aligned to the
// standard 112x112 ArcFace template by a least-squares similarity fit of
// five landmarks, fed to the network with the model's own input scaling,
// and the output is L2-normalised and compared by cosine distance.
//
// dlib's ResNet (ResNet), converted to ONNX by package models: it takes
// dlib's own 150-pixel face chip and computes dlib's descriptors, to
// rounding, with less CPU than dlib's own code (docs/embedders.md); its
// descriptors are dlib's model, digest included.
//
// Faces and landmarks come from dlib (package dlib's Frames: the same HOG
// or MMOD detector and 68-point shape predictor as the dlib embedder), so
// the embedders see the same faces and differ only in the network.
//
// This is a cgo leaf (gocv, dlib). Every Mat it makes is closed.
package onnx
