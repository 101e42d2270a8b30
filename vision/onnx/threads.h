// C interface of threads.cc: OpenCV's worker thread count.
#ifndef JOREN_THREADS_H
#define JOREN_THREADS_H

#ifdef __cplusplus
extern "C" {
#endif

void joren_cv_set_threads(int n);
int joren_cv_threads(void);

#ifdef __cplusplus
}
#endif

#endif
