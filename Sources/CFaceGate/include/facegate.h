/* FaceGate native shim: the only code that includes OpenCV or dlib.
 * Plain C so Swift imports it directly. Every object is an opaque handle freed by its *_free function.
 * Functions that can fail take `char *err, int errlen` and write a one-line message there.
 * Umbrella header: each area has its own header below. */
#ifndef FACEGATE_H
#define FACEGATE_H
#include "fg_image.h"
#include "fg_video.h"
#include "fg_face.h"
#include "fg_pad.h"
#include "fg_train.h"
#include "fg_dnn_detect.h"
#endif
