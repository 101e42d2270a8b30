// Command joren-convert converts dlib's ResNet in a model directory for
// OpenCV's DNN module, as `joren models fetch` and `joren models build` do:
//
//	joren-convert DIR
//
// writes DIR/dlib_face_recognition_resnet_model_v1.onnx from
// DIR/dlib_face_recognition_resnet_model_v1.dat and records it in
// DIR/MANIFEST with the sha256 of the file it came from
// (models.ConvertResNet). DIR's MANIFEST must already list the .dat file.
// With SOURCE_DATE_EPOCH set, the conversion is recorded as installed then,
// not now (reproducible builds).
//
// It exists for machines that cannot run joren itself: joren needs cgo
// (dlib, OpenCV) and the target's libraries, while the conversion is pure
// Go. Buildroot builds it for the build machine (host-joren, from the same
// commit as the image's joren) and the joren-models package runs it, so
// the image ships the converted ResNet (docs/image.md).
package main
