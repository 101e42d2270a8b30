package models

import (
	_ "embed"
	"fmt"
	"path/filepath"
)

// YuNet, the face detector with five landmarks: libfacedetection.train's
// onnx/yunet_s_640_640.onnx, byte for byte OpenCV Zoo's
// face_detection_yunet_2023mar.onnx (whose Git LFS pointer carries the
// same sha256 and size).
const (
	YuNetFile   = "face_detection_yunet_2023mar.onnx"
	YuNetSHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
	YuNetSize   = 232589
	// YuNetLicence is recorded in MANIFEST. libfacedetection.train, where
	// the network was trained and exported, is Apache-2.0 (OpenCV Zoo
	// distributes the same file under MIT); the notice is installed beside
	// the file.
	YuNetLicence = "Apache-2.0 (libfacedetection.train by Shiqi Yu, on OpenMMLab's MMDetection); notice in " + YuNetFile + ".LICENSE"
)

// YuNet's upstream locations, pinned to commits: OpenCV Zoo's Git LFS
// object (github.com/.../raw/ redirects to it), then the
// libfacedetection.train repository, where the file is a plain blob.
const (
	YuNetZooURL   = "https://github.com/opencv/opencv_zoo/raw/f12e12798e8314f7c074a6656816c048dcc95b7a/models/face_detection_yunet/face_detection_yunet_2023mar.onnx"
	YuNetTrainURL = "https://github.com/ShiqiYu/libfacedetection.train/raw/2b5e61dee21441ef4676505f835ab63ee53bae1e/onnx/yunet_s_640_640.onnx"
)

// yunetNotice is libfacedetection.train's LICENSE file (its copyright
// lines and the Apache License 2.0), which Apache-2.0 requires to travel
// with the model.
//
//go:embed yunet.LICENSE
var yunetNotice []byte

// YuNetNotice returns the licence notice installed beside YuNet.
func YuNetNotice() []byte { return append([]byte(nil), yunetNotice...) }

// YuNetRemote is YuNet to download: from urls in turn, or from its
// upstream locations if none are given.
func YuNetRemote(urls ...string) Remote {
	if len(urls) == 0 {
		urls = []string{YuNetZooURL, YuNetTrainURL}
	}
	return Remote{Name: YuNetFile, URL: urls[0], Mirrors: urls[1:], Raw: true, SHA256: YuNetSHA256, Licence: YuNetLicence, Notice: yunetNotice}
}

// installYuNet copies YuNet from dir (checked against dir's SHA256SUMS and
// the pinned sha256) into the model directory with its licence notice,
// unless it is already there from the same place.
func installYuNet(o BuildOptions, man *Manifest) error {
	src := filepath.Join(o.DetectorDir, YuNetFile)
	origin := "copied from " + src + " (libfacedetection.train onnx/yunet_s_640_640.onnx = OpenCV Zoo face_detection_yunet_2023mar.onnx, sha256 " + YuNetSHA256 + ")"
	if !upToDate(o.Dir, *man, YuNetFile, origin) {
		if err := checkSums(o.DetectorDir, YuNetFile, YuNetSHA256); err != nil {
			return fmt.Errorf("YuNet face detector: %w", err)
		}
		if err := copyInto(o.Dir, src, YuNetFile); err != nil {
			return err
		}
		if err := record(o.Dir, man, YuNetFile, origin, YuNetLicence, ""); err != nil {
			return err
		}
		o.Log.Info("model file installed", "file", YuNetFile)
	}
	return installNotice(o.Dir, man, YuNetFile, yunetNotice, YuNetLicence)
}
