// Package dlib is the adapter to dlib through github.com/Kagami/go-face:
// face detection (HOG or MMOD), landmarks, and the 128-D ResNet descriptor.
// It also writes dlib's ResNet model file from parameters converted
// elsewhere (see package models), with dlib's own serialiser.
//
// This is a cgo leaf: nothing outside vision/ and cmd/ imports it, and the
// rest of the project reaches it through small interfaces.
//
// go-face only decodes JPEG from memory; callers hand it JPEG bytes (see
// package picture, which re-encodes anything else).
package dlib
