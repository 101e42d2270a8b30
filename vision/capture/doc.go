// Package capture reads frames from a camera or a recording through gocv
// (OpenCV's videoio) and hands them on as frame.Frame values in Go memory:
//
//   - a V4L2 device: /dev/video0 (or just 0), resolution and frame rate
//     requested from the driver, MJPG preferred;
//   - a CSI camera on the board's camera connector: csi (the first),
//     csi:1 (the second), read through libcamera on a Raspberry Pi and
//     Argus on a Jetson, which ProbeMachine tells apart by the device tree;
//   - a GStreamer pipeline: gst:videotestsrc is-live=true, to which joren
//     adds the conversion to BGR and its appsink;
//   - a network stream: rtsp://, rtsps://, http://, https:// (FFmpeg);
//   - a video file: anything FFmpeg reads (the synthesised door videos are
//     MJPG AVI);
//   - an image folder: its JPEG/PNG/BMP/WebP files in natural order
//     (frame2 before frame10), at a given frame rate.
//
// Cameras misbehave; capture never gives up on a live source unless told
// to, and never hangs: a device that disappears, a stream that ends or
// stops sending (Stall) is closed, logged and reopened with exponential
// backoff. A recording that ends early (truncated or corrupt, or a folder
// removed while being read) is reopened where it stopped, skipping the
// frame that failed, and given up with an error naming the file after a
// few attempts. The natural end of a file or folder ends Run without error.
//
// Capture never blocks on a busy pipeline: when the consumer's channel is
// full, a live frame is skipped without being decoded and counted
// (frame.Frame.Dropped). Recordings are read losslessly, as fast as the
// consumer takes them, unless Realtime asks for camera-like pacing.
//
// CSI cameras and gst: sources run in GStreamer, driven here through its C
// API rather than OpenCV's GStreamer backend: the appsink keeps only the
// newest frame (drop=true max-buffers=1), a wait for a frame never blocks
// for more than 0.1 s (so a stalled camera is stopped and freed, where
// OpenCV would wait for ever), a missing element is named with the package
// that has it, and an element's own error (libcamera's "no camera", say)
// is the error. Frames are copied straight from GStreamer's buffer into
// Go memory.
//
// This is a cgo leaf (gocv, GStreamer). Every Mat it makes is closed by the
// goroutine that made it; frames handed on are plain Go memory, recycled
// when released.
package capture
