// Internal definitions shared by the shim's .cpp files. Never included from Swift.
#pragma once
#include "../include/facegate.h"
#include <opencv2/core.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

struct fg_image {
    cv::Mat mat;  // CV_8UC3, continuous
};

inline void fg_set_err(char *err, int errlen, const std::string &msg) {
    if (err && errlen > 0) {
        std::snprintf(err, (size_t)errlen, "%s", msg.c_str());
    }
}

inline fg_image *fg_wrap(cv::Mat m) {
    if (m.empty()) return nullptr;
    if (!m.isContinuous()) m = m.clone();
    auto *img = new (std::nothrow) fg_image;
    if (!img) return nullptr;
    img->mat = m;
    return img;
}

inline cv::Rect fg_clip(int x, int y, int w, int h, const cv::Mat &m) {
    return cv::Rect(x, y, w, h) & cv::Rect(0, 0, m.cols, m.rows);
}

// Serialised model bytes handed to Swift: copies `s` into a malloc'd buffer (freed by the caller with free()) and
// returns its size, 0 when out of memory. Shared by the trainable back ends (train_dnn.cpp, train_svm.cpp).
inline size_t fg_export_bytes(const std::string &s, uint8_t **out) {
    auto *buf = (uint8_t *)std::malloc(s.size());
    if (!buf) return 0;
    std::memcpy(buf, s.data(), s.size());
    *out = buf;
    return s.size();
}

// Serialised model bytes from Swift as a string; false (message in err) when there are none.
inline bool fg_import_bytes(const uint8_t *data, size_t len, std::string &s, char *err, int errlen) {
    if (!data || len == 0) { fg_set_err(err, errlen, "empty weights"); return false; }
    s.assign((const char *)data, len);
    return true;
}

// Factor that brings a frame's longer side down to max_side (1 when max_side <= 0 or the frame is smaller).
inline double fg_downscale_factor(const cv::Mat &m, int max_side) {
    int longer = std::max(m.cols, m.rows);
    if (max_side <= 0 || longer <= max_side) return 1.0;
    return (double)max_side / longer;
}

// Writes detections found on a frame downscaled by `scale` back in full-frame pixels, best score first, at most
// `max`; returns the number written. Shared by the detector back ends (face.cpp, dnn_detect.cpp).
inline int fg_emit_detections(std::vector<fg_detection> &found, double scale, fg_detection *out, int max) {
    std::sort(found.begin(), found.end(), [](const fg_detection &a, const fg_detection &b) { return a.score > b.score; });
    int n = 0;
    for (const auto &f : found) {
        if (n >= max) break;
        out[n++] = {(float)(f.x / scale), (float)(f.y / scale), (float)(f.w / scale), (float)(f.h / scale), f.score};
    }
    return n;
}

// dlib's frontal HOG face detector (hog.cpp). The default evaluation reuses its buffers and reproduces dlib's
// arithmetic exactly (same boxes, same scores); `reference` runs dlib's own object_detector call instead. One handle
// per thread. Boxes are in the pixels of `gray` (CV_8UC1); confidence is dlib's detection_confidence.
struct fg_hog;
struct fg_hog_box { long left, top, width, height; double confidence; };
fg_hog *fg_hog_create(bool reference);
void fg_hog_free(fg_hog *h);
void fg_hog_detect(fg_hog *h, const cv::Mat &gray, double adjust_threshold, std::vector<fg_hog_box> &out);
