// Package models provisions the model files the face pipeline loads: it
// downloads dlib's official files (Fetch), builds equivalent files offline
// (Build: dlib's ResNet converted from face-api's published weights, the
// MMOD detector from a checked directory, Debian's 68-point landmark model),
// and checks a model directory (Verify) against its MANIFEST.
//
// Every file is written beside its final name and renamed into place, so a
// model directory never holds half a file; every file's sha256 and origin
// are recorded in MANIFEST.
//
// The package is pure Go: writing dlib's binary format and loading models
// are done by functions the caller passes in (package dlib implements them).
package models
