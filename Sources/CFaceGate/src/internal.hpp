// Internal definitions shared by the shim's .cpp files. Never included from Swift.
#pragma once
#include "../include/facegate.h"
#include <opencv2/core.hpp>
#include <cstdio>
#include <cstring>
#include <string>

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
