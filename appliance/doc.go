// Package appliance is the door camera as one service (`joren run`): it
// wires the camera, the face pipeline, the identity store, the staff
// indicator and the visit events together, and adds what a box that runs
// for months unattended needs: a health check and Prometheus metrics on
// localhost, systemd readiness and watchdog, a nightly maintenance pass,
// and a graceful shutdown that loses nothing (decisions are durable in the
// store, events in the outbox, before anyone is told).
//
//	camera -> pipeline (detect, track, describe) -> identity (decide)
//	       -> indicator (staff light), publisher (outbox -> MQTT),
//	          button (forget the last customer), metrics, installer page
//
// Data flows one way; every stage runs under one errgroup; each stage
// closes the channel it owns.
//
// The package is pure Go: the parts of the camera side that need cgo (the
// capture, dlib's models) come from its caller through the Camera
// interface, and it runs them with package vision/pipeline. Its end-to-end
// tests, with the real camera side, say //go:build cgo.
package appliance
