// OpenCV's thread count, which gocv does not expose.
#include <opencv2/core.hpp>
#include "threads.h"

extern "C" void joren_cv_set_threads(int n) { cv::setNumThreads(n); }

extern "C" int joren_cv_threads(void) { return cv::getNumThreads(); }
