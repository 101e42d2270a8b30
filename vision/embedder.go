package vision

import "joren/vocab"

// Embedder finds the faces of a picture and describes each with one
// model. The file commands (compare, embed, cluster, staff) take any
// Embedder: dlib's ResNet through go-face, or an ONNX network.
type Embedder interface {
	// Model describes every descriptor this embedder returns.
	Model() vocab.Model
	// Faces finds every face of a JPEG picture with its landmarks and
	// descriptor. A picture without faces gives no faces and no error.
	Faces(jpeg []byte) ([]Face, error)
	Close() error
}
