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
