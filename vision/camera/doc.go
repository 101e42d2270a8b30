// Package camera names what the camera side's cgo parts hand to code that
// builds without cgo: Faces (a face detector with its shape predictor and
// a descriptor network, loaded from a model directory) and Source (a
// camera, stream, recording or picture folder, with its counts).
//
// The appliance opens them through a driver it declares and runs them
// with package pipeline, which is pure Go too; package camera/cv is the
// real driver (OpenCV, dlib), which only the binary and cgo tests link.
// So the appliance builds and tests with CGO_ENABLED=0 and on arm64 under
// qemu, and the camera side stays in the leaves under vision/.
package camera
