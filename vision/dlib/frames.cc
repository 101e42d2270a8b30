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
#include <string>
#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include "frames.h"
#include "nets.h"

using namespace dlib;

struct joren_frames {
	frontal_face_detector hog;
	shape_predictor sp;
	joren::anet_type net;
	std::unique_ptr<joren::mmod_type> cnn;
	// dlib's detectors and networks keep per-call state: one call at a time
	// on each. One lock per model, so that the live pipeline can detect
	// faces in one frame while it describes a face of an earlier one. The
	// shape predictor is const and needs none.
	std::mutex hog_mu, cnn_mu, net_mu;
};

namespace {

char* fail(const std::string& msg) { return strdup(msg.c_str()); }

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

} // namespace

extern "C" joren_frames* joren_frames_open(const char* dir, int cnn, char** err) {
	try {
		auto f = std::make_unique<joren_frames>();
		std::string d = dir;
		f->hog = get_frontal_face_detector();
		deserialize(d + "/shape_predictor_5_face_landmarks.dat") >> f->sp;
		deserialize(d + "/dlib_face_recognition_resnet_model_v1.dat") >> f->net;
		if (cnn) {
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
			std::lock_guard<std::mutex> lock(f->hog_mu);
			f->hog(img, dets);
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

// landmarks finds the shape of the face in rect, writes up to max_parts of
// its points and, if chip is not NULL, cuts the ResNet's 150-pixel chip.
// Returns the number of parts.
static int landmarks(joren_frames* f, const uint8_t* bgr, int rows, int cols, int step,
	const long* rect, long* points, int max_parts, matrix<rgb_pixel>* chip) {
	matrix<rgb_pixel> img;
	to_rgb(bgr, rows, cols, step, img);
	rectangle r(rect[0], rect[1], rect[2], rect[3]);
	full_object_detection shape = f->sp(img, r);
	int n = (int)shape.num_parts();
	for (int i = 0; i < n && i < max_parts; i++) {
		points[2*i] = shape.part(i).x();
		points[2*i+1] = shape.part(i).y();
	}
	if (chip) {
		extract_image_chip(img, get_face_chip_details(shape, 150, 0.25), *chip);
	}
	return n;
}

extern "C" int joren_frames_describe(joren_frames* f, const uint8_t* bgr, int rows, int cols, int step,
	const long* rect, long* points, int max_parts, float* desc, char** err) {
	try {
		matrix<rgb_pixel> chip;
		int n = landmarks(f, bgr, rows, cols, step, rect, points, max_parts, desc ? &chip : nullptr);
		if (desc) {
			std::lock_guard<std::mutex> lock(f->net_mu);
			matrix<float, 0, 1> d = f->net(chip);
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
		matrix<rgb_pixel> c;
		int n = landmarks(f, bgr, rows, cols, step, rect, points, max_parts, &c);
		static_assert(sizeof(rgb_pixel) == 3, "rgb_pixel is three bytes");
		std::memcpy(chip, &c(0, 0), 150 * 150 * 3);
		return n;
	} catch (std::exception& e) {
		*err = fail(e.what());
		return -1;
	}
}

extern "C" int joren_frames_chip_descriptor(joren_frames* f, const uint8_t* chip, float* desc, char** err) {
	try {
		matrix<rgb_pixel> c(150, 150);
		std::memcpy(&c(0, 0), chip, 150 * 150 * 3);
		std::lock_guard<std::mutex> lock(f->net_mu);
		matrix<float, 0, 1> d = f->net(c);
		std::memcpy(desc, &d(0, 0), d.size() * sizeof(float));
		return 0;
	} catch (std::exception& e) {
		*err = fail(e.what());
		return -1;
	}
}
