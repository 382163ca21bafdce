#ifndef FG_DNN_DETECT_H
#define FG_DNN_DETECT_H
/* Face detectors run through OpenCV DNN with the preprocessing a model catalog entry declares (dnn_detect.cpp).
 * Boxes come back like fg_detect's: x, y, w, h in full-frame pixels, sorted by score (highest first). */
#include "fg_face.h"
#ifdef __cplusplus
extern "C" {
#endif

/* What the network file is and how its output is laid out. */
typedef enum {
    /* Caffe prototxt + weights with an SSD "DetectionOutput" layer: [1, 1, N, 7] rows of
     * (image, label, confidence, x1, y1, x2, y2), corners normalised to 0..1 (RetinaFace of Silent-Face, res10 SSD). */
    FG_DNN_CAFFE_SSD = 0,
    /* OpenCV's YuNet ONNX face detector through cv::FaceDetectorYN (OpenCV >= 4.5.4). */
    FG_DNN_YUNET = 1
} fg_dnn_format;

/* How the (already max_side-limited) frame is resized before the network. */
typedef enum {
    /* Scale down to about input_w * input_h pixels keeping the aspect ratio; smaller frames stay as they are. */
    FG_DNN_RESIZE_AREA = 0,
    /* Stretch to exactly input_w x input_h. */
    FG_DNN_RESIZE_FIXED = 1,
    /* Feed the frame at its own size (input_w, input_h ignored). */
    FG_DNN_RESIZE_NONE = 2
} fg_dnn_resize;

typedef struct {
    fg_dnn_format format;
    fg_dnn_resize resize;
    int input_w, input_h;
    /* Subtracted per channel (in the network's channel order) after multiplying pixels by `scale`. */
    double mean[3];
    double scale;
    /* 1: feed RGB; 0: feed OpenCV's BGR. */
    int swap_rb;
    /* Detections below this confidence are dropped. */
    float confidence;
    /* Non-maximum suppression IoU (YuNet; SSD nets suppress inside their DetectionOutput layer). */
    float nms;
} fg_dnn_detector_params;

typedef struct fg_dnn_detector fg_dnn_detector;
/* config: Caffe prototxt (FG_DNN_CAFFE_SSD) or "" (YuNet); weights: .caffemodel or YuNet .onnx.
 * input_name / output_name: network blob names, "" for the network's defaults (Caffe SSD only). */
fg_dnn_detector *fg_dnn_detector_create(const char *config, const char *weights, const char *input_name,
                                        const char *output_name, const fg_dnn_detector_params *params,
                                        char *err, int errlen);
/* Detects faces after downscaling so the longer side is <= max_side (0 = as is). Returns the number written
 * (<= max), or -1 on a native failure (message in err). */
int fg_dnn_detect(fg_dnn_detector *d, const fg_image *img, int max_side, fg_detection *out, int max,
                  char *err, int errlen);
/* Same, limited to a region of interest (full-frame pixels); boxes in full-frame pixels. */
int fg_dnn_detect_roi(fg_dnn_detector *d, const fg_image *img, int rx, int ry, int rw, int rh, int max_side,
                      fg_detection *out, int max, char *err, int errlen);
void fg_dnn_detector_free(fg_dnn_detector *d);

#ifdef __cplusplus
}
#endif
#endif
