// Package vision holds what every part of the face pipeline shares: the
// faces found in a picture, their descriptors, and the model that computed
// each descriptor.
//
// Descriptors have the dimension of their model (128 for dlib's ResNet,
// 512 for ArcFace-style networks), so nothing here fixes a length: a
// descriptor always travels with its Model, and two descriptors are only
// compared when their models are the same.
//
// The packages below vision/ that use cgo (go-face, gocv) are leaves; this
// package and everything that consumes faces build with CGO_ENABLED=0.
package vision
