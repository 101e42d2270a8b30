package models

// The files go-face loads from one model directory.
const (
	ShapePredictorFile = "shape_predictor_5_face_landmarks.dat"
	ResNetFile         = "dlib_face_recognition_resnet_model_v1.dat"
	DetectorFile       = "mmod_human_face_detector.dat"
)

// Files lists every file a model directory must hold, in go-face's load order.
var Files = []string{ShapePredictorFile, ResNetFile, DetectorFile}

// ManifestFile records the sha256 and origin of every file of a model
// directory.
const ManifestFile = "MANIFEST"

// YuNet, the face detector with five landmarks (libfacedetection.train's
// yunet_s_640_640.onnx, OpenCV Zoo's face_detection_yunet_2023mar.onnx:
// the same bytes).
const (
	YuNetFile   = "face_detection_yunet_2023mar.onnx"
	YuNetSHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
)
