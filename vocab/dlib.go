package vocab

// dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1),
// the shipped default model. It is named here, not in the cgo package that
// runs the network, so that pure-Go code and tests name it without
// restating it.
const (
	// DlibResNetName is the network family recorded with every descriptor.
	DlibResNetName = "dlib_resnet_v1"
	// DlibResNetDim is the length of its descriptors.
	DlibResNetDim = 128
	// DlibResNetThreshold is the Euclidean distance under which two single
	// dlib descriptors are called the same person. dlib documents 0.6,
	// measured on LFW; on the project's labelled data (docs/clustering.md)
	// 0.6 calls 93% of pairs of different people the same, and the
	// equal-error point is 0.44 (77% of same-person pairs and 81% of
	// different-person pairs right).
	DlibResNetThreshold = 0.44
)

// DlibResNet is dlib's ResNet model without its weights' digest, which
// vision/dlib fills in from the file it loads (a digest names one copy of
// the weights; see Model.Digest).
func DlibResNet() Model {
	return Model{Name: DlibResNetName, Dim: DlibResNetDim, Metric: Euclidean, Threshold: DlibResNetThreshold}
}
