// Face detectors through OpenCV DNN, configured by the model catalog (input size, resize rule, mean, scale, colour
// order, confidence). Kept apart from face.cpp (dlib HOG/MMOD, Haar) so catalog detectors are one self-contained path.
#include "internal.hpp"
#include "../include/fg_dnn_detect.h"
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

struct fg_dnn_detector {
    fg_dnn_detector_params p;
    cv::dnn::Net net;
    cv::Ptr<cv::FaceDetectorYN> yunet;
    std::string input, output;
};

namespace {

// The size the network sees for a frame of `sz` under the entry's resize rule.
cv::Size network_size(const fg_dnn_detector_params &p, cv::Size sz) {
    switch (p.resize) {
        case FG_DNN_RESIZE_FIXED: return cv::Size(p.input_w, p.input_h);
        case FG_DNN_RESIZE_NONE: return sz;
        case FG_DNN_RESIZE_AREA: {
            double area = (double)p.input_w * p.input_h;
            if ((double)sz.width * sz.height < area) return sz;
            double ar = (double)sz.width / sz.height;
            return cv::Size(std::max(1, (int)std::sqrt(area * ar)), std::max(1, (int)std::sqrt(area / ar)));
        }
    }
    return sz;
}

// Detections in the coordinates of `frame`.
void detect_frame(fg_dnn_detector *d, const cv::Mat &frame, std::vector<fg_detection> &found) {
    const auto &p = d->p;
    cv::Size ns = network_size(p, frame.size());
    cv::Mat in;
    // Shrinking averages pixel areas: bilinear (Silent-Face's cv2.resize default) aliases at the 5-20x reductions an
    // area rule makes on photos, and RetinaFace's confidence on the fixture photos drops from 0.6-0.8 to 0.1-0.6.
    if (ns != frame.size()) {
        bool shrink = ns.width < frame.cols || ns.height < frame.rows;
        cv::resize(frame, in, ns, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    } else {
        in = frame;
    }
    if (p.format == FG_DNN_YUNET) {
        d->yunet->setInputSize(in.size());
        cv::Mat faces;
        d->yunet->detect(in, faces);
        double sx = (double)frame.cols / in.cols, sy = (double)frame.rows / in.rows;
        for (int i = 0; i < faces.rows; i++) {
            const float *r = faces.ptr<float>(i);
            if (r[14] < p.confidence) continue;
            found.push_back({(float)(r[0] * sx), (float)(r[1] * sy), (float)(r[2] * sx), (float)(r[3] * sy), r[14]});
        }
        return;
    }
    cv::Mat blob = cv::dnn::blobFromImage(in, p.scale, cv::Size(), cv::Scalar(p.mean[0], p.mean[1], p.mean[2]),
                                          p.swap_rb != 0, false, CV_32F);
    d->net.setInput(blob, d->input);
    cv::Mat o = d->output.empty() ? d->net.forward() : d->net.forward(d->output);
    if (o.dims != 4 || o.size[3] != 7) throw std::runtime_error("network output is not SSD detection rows [1,1,N,7]");
    cv::Mat rows(o.size[2], o.size[3], CV_32F, o.ptr<float>());
    for (int i = 0; i < rows.rows; i++) {
        const float *r = rows.ptr<float>(i);
        if (!(r[2] >= p.confidence)) continue;  // also drops NaN
        // Normalised corners map to the frame directly: the resize above only rescales.
        float l = r[3] * frame.cols, t = r[4] * frame.rows, rr = r[5] * frame.cols, b = r[6] * frame.rows;
        if (rr > l && b > t) found.push_back({l, t, rr - l, b - t, r[2]});
    }
}

int detect_mat(fg_dnn_detector *d, const cv::Mat &bgr, int max_side, fg_detection *out, int max) {
    double s = fg_downscale_factor(bgr, max_side);
    cv::Mat small;
    if (s < 1.0) cv::resize(bgr, small, cv::Size(), s, s, cv::INTER_AREA); else small = bgr;
    std::vector<fg_detection> found;
    detect_frame(d, small, found);
    return fg_emit_detections(found, s, out, max);
}

}  // namespace

extern "C" {

fg_dnn_detector *fg_dnn_detector_create(const char *config, const char *weights, const char *input_name,
                                        const char *output_name, const fg_dnn_detector_params *params,
                                        char *err, int errlen) {
    if (!weights || !params) { fg_set_err(err, errlen, "bad arguments"); return nullptr; }
    if (params->format != FG_DNN_YUNET && params->resize != FG_DNN_RESIZE_NONE &&
        (params->input_w <= 0 || params->input_h <= 0)) {
        fg_set_err(err, errlen, "detector input size must be positive");
        return nullptr;
    }
    auto *d = new (std::nothrow) fg_dnn_detector;
    if (!d) return nullptr;
    d->p = *params;
    d->input = input_name ? input_name : "";
    d->output = output_name ? output_name : "";
    try {
        if (params->format == FG_DNN_YUNET) {
            int w = params->input_w > 0 ? params->input_w : 320, h = params->input_h > 0 ? params->input_h : 320;
            d->yunet = cv::FaceDetectorYN::create(weights, "", cv::Size(w, h), params->confidence, params->nms, 5000);
            if (d->yunet.empty()) throw std::runtime_error("cannot load YuNet ONNX model");
        } else {
            d->net = cv::dnn::readNetFromCaffe(config ? config : "", weights);
            if (d->net.empty()) throw std::runtime_error("cannot load Caffe network");
            d->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            d->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        }
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("cannot load detector: ") + e.what());
        delete d;
        return nullptr;
    }
    return d;
}

int fg_dnn_detect(fg_dnn_detector *d, const fg_image *img, int max_side, fg_detection *out, int max,
                  char *err, int errlen) {
    if (!d || !img || !out || max <= 0) { fg_set_err(err, errlen, "bad arguments"); return -1; }
    try {
        return detect_mat(d, img->mat, max_side, out, max);
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, e.what());
        return -1;
    }
}

int fg_dnn_detect_roi(fg_dnn_detector *d, const fg_image *img, int rx, int ry, int rw, int rh, int max_side,
                      fg_detection *out, int max, char *err, int errlen) {
    if (!d || !img || !out || max <= 0) { fg_set_err(err, errlen, "bad arguments"); return -1; }
    cv::Rect roi = fg_clip(rx, ry, rw, rh, img->mat);
    if (roi.width < 20 || roi.height < 20) return 0;
    try {
        int n = detect_mat(d, img->mat(roi), max_side, out, max);
        for (int i = 0; i < n; i++) { out[i].x += roi.x; out[i].y += roi.y; }
        return n;
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, e.what());
        return -1;
    }
}

void fg_dnn_detector_free(fg_dnn_detector *d) { delete d; }

}  // extern "C"
