// Package yunet finds faces with YuNet (libfacedetection.train's
// yunet_s_640_640.onnx, the same bytes as OpenCV Zoo's
// face_detection_yunet_2023mar.onnx; Apache-2.0, 232 kB): one forward pass
// gives every face's box, score and five landmarks (eye centres, nose tip,
// mouth corners), which feed the quality gate's frontalness and the
// alignment of the face for any embedder, without a shape predictor.
//
// OpenCV 4.6's cv::FaceDetectorYN cannot load this model version, so the
// network runs as plain ONNX through OpenCV's DNN module and its outputs
// are decoded here (Decode, pure Go and fuzzed): the input is padded to
// multiples of 32; for each of the stride 8, 16 and 32 grids, a cell's
// score is sqrt(cls*obj) and its box and landmarks are offsets from the
// cell; overlapping faces are then suppressed with OpenCV's NMSBoxes.
//
// Detect searches a region of a frame (the live pipeline looks only where
// something moved or a face is tracked), at a scale, and returns faces in
// the frame's coordinates. Hostile inputs (an empty or corrupt picture, a
// region outside it, too small or too large once scaled) are errors: every
// OpenCV call is made from net.cc, which catches OpenCV's exceptions
// (gocv's DNN calls let them abort the process).
//
// This is a cgo leaf (OpenCV).
package yunet
