// Package vision holds what the face pipeline's parts share beyond the
// common vocabulary (package vocab: models, visits): the faces found in a
// picture with their landmarks, the Embedder interface the photo
// commands use, and five-point alignment geometry.
//
// Descriptors have the dimension of their model (128 for dlib's ResNet,
// 512 for ArcFace-style networks), so nothing here fixes a length: a
// descriptor always travels with its vocab.Model, and two descriptors are
// only compared when their models are the same.
//
// The packages below vision/ that use cgo (go-face, gocv) are leaves; this
// package and everything that consumes faces build with CGO_ENABLED=0.
package vision
