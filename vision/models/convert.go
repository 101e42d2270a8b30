package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"joren/internal/atomicfile"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// ConvertResNet writes ResNetONNXFile from the ResNet file installed in dir
// (built from face-api's weights or fetched from dlib.net: whichever is
// there) and records it in MANIFEST with the sha256 of the file it came
// from. A conversion already made from the same file is kept. A ResNet
// file this reader does not know is an error naming it; the .dat file is
// left as it is and dlib keeps running it.
func ConvertResNet(dir string, log *slog.Logger) error {
	return ConvertResNetAt(dir, time.Now(), log)
}

// ConvertResNetAt is ConvertResNet recording the conversion in MANIFEST as
// installed at installed, not now: an image build passes its
// SOURCE_DATE_EPOCH, so that two builds of one commit write the same
// MANIFEST (cmd/joren-convert).
func ConvertResNetAt(dir string, installed time.Time, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	man, err := ReadManifest(dir)
	if err != nil {
		return err
	}
	return convertResNet(dir, &man, installed, log)
}

func convertResNet(dir string, man *Manifest, installed time.Time, log *slog.Logger) error {
	src := filepath.Join(dir, ResNetFile)
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("converting the ResNet for OpenCV: %w", err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	origin := fmt.Sprintf("converted by joren from %s (sha256 %s)", ResNetFile, digest)
	if e, ok := man.Lookup(ResNetONNXFile); ok && e.SourceSHA256 == digest && upToDate(dir, *man, ResNetONNXFile, origin) {
		return nil
	}
	params, err := ReadResNet(data)
	if err != nil {
		return fmt.Errorf("converting %s for OpenCV: %w", src, err)
	}
	onnx, err := ResNetONNX(params, digest)
	if err != nil {
		return fmt.Errorf("converting %s for OpenCV: %w", src, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ResNetONNXFile), onnx, 0o644); err != nil {
		return err
	}
	licence := "as " + ResNetFile
	if e, ok := man.Lookup(ResNetFile); ok && e.Licence != "" {
		licence = e.Licence
	}
	s := sha256.Sum256(onnx)
	man.Set(Entry{Name: ResNetONNXFile, SHA256: hex.EncodeToString(s[:]), Size: int64(len(onnx)), Origin: origin,
		Licence: licence, SourceSHA256: digest, Installed: installed.UTC()})
	if err := man.write(dir); err != nil {
		return err
	}
	log.Info("model file converted", "file", ResNetONNXFile, "from", ResNetFile)
	return nil
}

// ONNXMetadata returns the metadata of an ONNX model (ModelProto's
// metadata_props) without reading its graph.
func ONNXMetadata(data []byte) (map[string]string, error) {
	meta := map[string]string{}
	err := walkProto(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 14 || typ != protowire.BytesType {
			return nil
		}
		var k, val string
		err := walkProto(v, func(n protowire.Number, t protowire.Type, vv []byte, _ uint64) error {
			switch {
			case n == 1 && t == protowire.BytesType:
				k = string(vv)
			case n == 2 && t == protowire.BytesType:
				val = string(vv)
			}
			return nil
		})
		meta[k] = val
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("not an ONNX model: %w", err)
	}
	return meta, nil
}

// ResNetONNXSource returns the sha256 of the ResNet file an ONNX file made
// by ResNetONNX was converted from.
func ResNetONNXSource(data []byte) (string, error) {
	meta, err := ONNXMetadata(data)
	if err != nil {
		return "", err
	}
	sum, ok := meta[MetaSourceSHA256]
	if !ok || len(sum) != 64 {
		return "", errNoSource
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", errors.Join(errNoSource, err)
	}
	return sum, nil
}
