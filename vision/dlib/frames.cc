// dlib's face detectors, shape predictor and ResNet on raw BGR frames: the
// same models and the same computation as go-face (detection, landmarks,
// a 150-pixel face chip with 0.25 padding, the ResNet descriptor), but on
// pixels already in memory and one step at a time, so that the live
// pipeline can detect on a small frame and describe only faces worth it.
// No exception leaves an entry point: each catches everything (dlib's
// errors, std::bad_alloc, anything else) and returns it as a message.
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include "frames.h"
#include "nets.h"

using namespace dlib;

struct joren_frames {
	// Each model is loaded only if asked for (JOREN_PART_*): the shape
	// predictor alone weighs about 100 MB, which a YuNet box never uses.
	std::unique_ptr<frontal_face_detector> hog;
	std::unique_ptr<shape_predictor> sp;
	std::unique_ptr<joren::anet_type> net;
	std::unique_ptr<joren::mmod_type> cnn;
	// dlib's detectors and networks keep per-call state: one call at a time
	// on each. One lock per model, so that the live pipeline can detect
	// faces in one frame while it describes a face of an earlier one. The
	// shape predictor is const and needs none.
	std::mutex hog_mu, cnn_mu, net_mu;
};

namespace {

char* fail(const std::string& msg) { return strdup(msg.c_str()); }

const char* no_resnet = "dlib's ResNet was not loaded (or was dropped for OpenCV's copy)";

// to_rgb copies a BGR frame into dlib's RGB matrix.
void to_rgb(const uint8_t* bgr, int rows, int cols, int step, matrix<rgb_pixel>& img) {
	img.set_size(rows, cols);
	for (int r = 0; r < rows; r++) {
		const uint8_t* p = bgr + (size_t)r * step;
		for (int c = 0; c < cols; c++, p += 3) {
			img(r, c) = rgb_pixel(p[2], p[1], p[0]);
		}
	}
}

// landmarks runs the shape predictor on the face in rect (left, top,
// right, bottom) and copies up to max_parts of its points into points.
full_object_detection landmarks(joren_frames* f, const matrix<rgb_pixel>& img, const long* rect, long* points, int max_parts) {
	if (!f->sp) {
		throw std::runtime_error("the shape predictor was not loaded");
	}
	full_object_detection shape = (*f->sp)(img, rectangle(rect[0], rect[1], rect[2], rect[3]));
	for (int i = 0; i < (int)shape.num_parts() && i < max_parts; i++) {
		points[2*i] = shape.part(i).x();
		points[2*i+1] = shape.part(i).y();
	}
	return shape;
}

} // namespace

extern "C" joren_frames* joren_frames_open(const char* dir, int parts, char** err) {
	try {
		auto f = std::make_unique<joren_frames>();
		std::string d = dir;
		if (parts & JOREN_PART_HOG) {
			f->hog = std::make_unique<frontal_face_detector>(get_frontal_face_detector());
		}
		if (parts & JOREN_PART_SHAPE) {
			f->sp = std::make_unique<shape_predictor>();
			deserialize(d + "/shape_predictor_5_face_landmarks.dat") >> *f->sp;
		}
		if (parts & JOREN_PART_RESNET) {
			f->net = std::make_unique<joren::anet_type>();
			deserialize(d + "/dlib_face_recognition_resnet_model_v1.dat") >> *f->net;
		}
		if (parts & JOREN_PART_MMOD) {
			f->cnn = std::make_unique<joren::mmod_type>();
			deserialize(d + "/mmod_human_face_detector.dat") >> *f->cnn;
		}
		return f.release();
	} catch (std::exception& e) {
		*err = fail(e.what());
		return nullptr;
	} catch (...) {
		*err = fail("unknown C++ exception");
		return nullptr;
	}
}

extern "C" void joren_frames_close(joren_frames* f) { delete f; }

extern "C" void joren_frames_drop_resnet(joren_frames* f) {
	std::lock_guard<std::mutex> lock(f->net_mu);
	f->net.reset();
}

extern "C" int joren_frames_detect(joren_frames* f, const uint8_t* bgr, int rows, int cols, int step, int cnn,
	long* rects, double* scores, int max, char** err) {
	try {
		matrix<rgb_pixel> img;
		to_rgb(bgr, rows, cols, step, img);
		std::vector<rect_detection> dets;
		if (cnn) {
			if (!f->cnn) {
				*err = fail("the CNN detector was not loaded");
				return -1;
			}
			std::lock_guard<std::mutex> lock(f->cnn_mu);
			for (auto& d : (*f->cnn)(img)) {
				dets.push_back(rect_detection{d.detection_confidence, 0, d.rect});
			}
		} else {
			if (!f->hog) {
				*err = fail("the HOG detector was not loaded");
				return -1;
			}
			std::lock_guard<std::mutex> lock(f->hog_mu);
			(*f->hog)(img, dets);
		}
		for (int i = 0; i < (int)dets.size() && i < max; i++) {
			rects[4*i] = dets[i].rect.left();
			rects[4*i+1] = dets[i].rect.top();
			rects[4*i+2] = dets[i].rect.right();
			rects[4*i+3] = dets[i].rect.bottom();
			scores[i] = dets[i].detection_confidence;
		}
		return (int)dets.size();
	} catch (std::exception& e) {
		*err = fail(e.what());
		return -1;
	} catch (...) {
		*err = fail("unknown C++ exception");
		return -1;
	}
}

extern "C" int joren_frames_describe(joren_frames* f, const uint8_t* bgr, int rows, int cols, int step,
	const long* rect, long* points, int max_parts, float* desc, char** err) {
	try {
		matrix<rgb_pixel> img;
		to_rgb(bgr, rows, cols, step, img);
		full_object_detection shape = landmarks(f, img, rect, points, max_parts);
		int n = (int)shape.num_parts();
		if (desc) {
			matrix<rgb_pixel> chip;
			extract_image_chip(img, get_face_chip_details(shape, 150, 0.25), chip);
			std::lock_guard<std::mutex> lock(f->net_mu);
			if (!f->net) {
				throw std::runtime_error(no_resnet);
			}
			matrix<float, 0, 1> d = (*f->net)(chip);
			std::memcpy(desc, &d(0, 0), d.size() * sizeof(float));
		}
		return n;
	} catch (std::exception& e) {
		*err = fail(e.what());
		return -1;
	} catch (...) {
		*err = fail("unknown C++ exception");
		return -1;
	}
}

extern "C" int joren_frames_chip(joren_frames* f, const uint8_t* bgr, int rows, int cols, int step,
	const long* rect, long* points, int max_parts, uint8_t* chip, char** err) {
	try {
		matrix<rgb_pixel> img;
		to_rgb(bgr, rows, cols, step, img);
		full_object_detection shape = landmarks(f, img, rect, points, max_parts);
		int n = (int)shape.num_parts();
		matrix<rgb_pixel> c;
		extract_image_chip(img, get_face_chip_details(shape, JOREN_CHIP, 0.25), c);
		for (long y = 0; y < JOREN_CHIP; y++) {
			for (long x = 0; x < JOREN_CHIP; x++) {
				uint8_t* p = chip + 3 * (y * JOREN_CHIP + x);
				p[0] = c(y, x).blue;
				p[1] = c(y, x).green;
				p[2] = c(y, x).red;
			}
		}
		return n;
	} catch (std::exception& e) {
		*err = fail(e.what());
		return -1;
	}
}

extern "C" int joren_frames_describe_chips(joren_frames* f, const uint8_t* chips, int n, float* desc, char** err) {
	try {
		std::vector<matrix<rgb_pixel>> batch(n);
		for (int i = 0; i < n; i++) {
			to_rgb(chips + (size_t)i * 3 * JOREN_CHIP * JOREN_CHIP, JOREN_CHIP, JOREN_CHIP, 3 * JOREN_CHIP, batch[i]);
		}
		std::vector<matrix<float, 0, 1>> out;
		{
			std::lock_guard<std::mutex> lock(f->net_mu);
			if (!f->net) {
				throw std::runtime_error(no_resnet);
			}
			out = (*f->net)(batch);
		}
		for (int i = 0; i < n; i++) {
			std::memcpy(desc + (size_t)i * 128, &out[i](0, 0), 128 * sizeof(float));
		}
		return 0;
	} catch (std::exception& e) {
		*err = fail(e.what());
		return -1;
	}
}
