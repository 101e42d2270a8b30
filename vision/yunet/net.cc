// YuNet's forward pass. OpenCV 4.6's cv::FaceDetectorYN cannot load the
// 2023mar model ("Layer id=-1 not found"), so the network is run as plain
// ONNX and its outputs are decoded in Go. This file exists, instead of
// gocv's Net, for two reasons: gocv's ForwardLayers never frees the array
// it returns the outputs in (a leak on every frame of a device that runs
// for months), and no gocv DNN call catches cv::Exception, so any OpenCV
// error would abort the process. Here every error is a message.
#include <cstring>
#include <string>
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include "net.h"

struct joren_yunet {
	cv::dnn::Net net;
	std::vector<cv::String> names;
	cv::Mat resized, padded, blob; // reused from frame to frame
	std::vector<cv::Mat> outs;
};

namespace {

char* fail(const std::string& msg) { return strdup(msg.c_str()); }

const int strides[3] = {8, 16, 32};
// Floats per grid cell of each output kind: cls, obj, bbox, kps.
const int widths[4] = {1, 1, 4, 10};
const char* kinds[4] = {"cls", "obj", "bbox", "kps"};

} // namespace

extern "C" joren_yunet* joren_yunet_open(const void* onnx, size_t len, char** err) {
	try {
		auto* n = new joren_yunet;
		try {
			n->net = cv::dnn::readNetFromONNX(static_cast<const char*>(onnx), len);
			if (n->net.empty()) {
				throw std::runtime_error("OpenCV read no layers");
			}
			for (const char* k : kinds) {
				for (int s : strides) {
					n->names.push_back(std::string(k) + "_" + std::to_string(s));
				}
			}
		} catch (...) {
			delete n;
			throw;
		}
		return n;
	} catch (std::exception& e) {
		*err = fail(e.what());
		return nullptr;
	}
}

extern "C" void joren_yunet_close(joren_yunet* n) { delete n; }

extern "C" int joren_yunet_forward(joren_yunet* n, const uint8_t* bgr, int rows, int cols, int step,
	int w, int h, int pw, int ph, float* out, size_t out_len, char** err) {
	try {
		if (rows <= 0 || cols <= 0 || w <= 0 || h <= 0 || pw < w || ph < h || pw % 32 || ph % 32) {
			*err = fail("bad sizes");
			return -1;
		}
		cv::Mat src(rows, cols, CV_8UC3, const_cast<uint8_t*>(bgr), (size_t)step);
		const cv::Mat* in = &src;
		if (w != cols || h != rows) {
			// Area averaging when shrinking keeps small faces' detail;
			// bilinear when enlarging.
			int interp = (w < cols) ? cv::INTER_AREA : cv::INTER_LINEAR;
			cv::resize(src, n->resized, cv::Size(w, h), 0, 0, interp);
			in = &n->resized;
		}
		cv::copyMakeBorder(*in, n->padded, 0, ph - h, 0, pw - w, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
		cv::dnn::blobFromImage(n->padded, n->blob); // scale 1, no mean, BGR: as YuNet was trained
		n->net.setInput(n->blob);
		n->net.forward(n->outs, n->names);
		if (n->outs.size() != 12) {
			*err = fail("the network gave " + std::to_string(n->outs.size()) + " outputs, want 12");
			return -1;
		}
		size_t off = 0;
		for (int si = 0; si < 3; si++) {
			size_t cells = (size_t)(pw / strides[si]) * (size_t)(ph / strides[si]);
			for (int k = 0; k < 4; k++) {
				const cv::Mat& o = n->outs[k * 3 + si];
				size_t want = cells * widths[k];
				if (o.type() != CV_32F || !o.isContinuous() || o.total() != want) {
					*err = fail("output " + n->names[k * 3 + si] + " has " + std::to_string(o.total()) +
						" values, want " + std::to_string(want));
					return -1;
				}
				if (off + want > out_len) {
					*err = fail("output buffer too small");
					return -1;
				}
				std::memcpy(out + off, o.ptr<float>(), want * sizeof(float));
				off += want;
			}
		}
		return 0;
	} catch (std::exception& e) {
		*err = fail(e.what());
		return -1;
	}
}
