// Passive liveness: pluggable anti-spoof classifiers (ONNX through OpenCV DNN), Silent-Face crop recipe.
#include "internal.hpp"
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <cmath>

struct fg_pad_net {
    cv::dnn::Net net;
};

extern "C" {

fg_pad_net *fg_pad_net_load(const char *path, char *err, int errlen) {
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
        if (net.empty()) { fg_set_err(err, errlen, "empty network"); return nullptr; }
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        auto *n = new (std::nothrow) fg_pad_net;
        if (!n) return nullptr;
        n->net = net;
        return n;
    } catch (const cv::Exception &e) {
        fg_set_err(err, errlen, e.what());
        return nullptr;
    }
}

void fg_pad_net_free(fg_pad_net *n) { delete n; }

fg_image *fg_pad_image_read_oriented(const char *path, char *err, int errlen) {
    try {
        cv::Mat m = cv::imread(path, cv::IMREAD_COLOR);  // applies EXIF orientation, as the reference's cv2.imread
        if (m.empty()) { fg_set_err(err, errlen, "not a decodable image (unknown format, truncated or corrupt)"); return nullptr; }
        if ((double)m.cols * m.rows > FG_MAX_IMAGE_PIXELS) { fg_set_err(err, errlen, "image too large"); return nullptr; }
        return fg_wrap(m);
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("decoder failed: ") + e.what());
        return nullptr;
    }
}

void fg_pad_crop_box(int src_w, int src_h, float x, float y, float w, float h, double scale, int *box4) {
    // Same arithmetic as Silent-Face-Anti-Spoofing's CropImage._get_new_box: enlarge the box about its centre by
    // `scale` (limited so it fits the frame), then shift it back inside the frame.
    double bw = std::max(1.0f, w), bh = std::max(1.0f, h);
    scale = std::min((src_h - 1) / bh, std::min((src_w - 1) / bw, scale));
    double nw = bw * scale, nh = bh * scale;
    double cx = bw / 2 + x, cy = bh / 2 + y;
    double l = cx - nw / 2, t = cy - nh / 2, r = cx + nw / 2, b = cy + nh / 2;
    if (l < 0) { r -= l; l = 0; }
    if (t < 0) { b -= t; t = 0; }
    if (r > src_w - 1) { l -= r - src_w + 1; r = src_w - 1; }
    if (b > src_h - 1) { t -= b - src_h + 1; b = src_h - 1; }
    box4[0] = (int)l; box4[1] = (int)t; box4[2] = (int)r; box4[3] = (int)b;
}

int fg_pad_net_run(fg_pad_net *n, const fg_image *img, float x, float y, float w, float h, const fg_pad_net_input *in,
                   float *out, int max, char *err, int errlen) {
    if (!n || !img || !in || !out || in->input_w <= 0 || in->input_h <= 0) { fg_set_err(err, errlen, "bad arguments"); return -1; }
    try {
        const cv::Mat &m = img->mat;
        cv::Mat patch;
        if (in->crop_scale > 0) {
            int b[4];
            fg_pad_crop_box(m.cols, m.rows, x, y, w, h, in->crop_scale, b);
            cv::Rect r = cv::Rect(b[0], b[1], b[2] - b[0] + 1, b[3] - b[1] + 1) & cv::Rect(0, 0, m.cols, m.rows);
            if (r.width < 2 || r.height < 2) { fg_set_err(err, errlen, "face box outside the frame"); return -1; }
            cv::resize(m(r), patch, cv::Size(in->input_w, in->input_h));  // bilinear, like cv2.resize's default
        } else {
            cv::resize(m, patch, cv::Size(in->input_w, in->input_h));
        }
        if (in->swap_rb) cv::cvtColor(patch, patch, cv::COLOR_BGR2RGB);
        cv::Mat f;
        patch.convertTo(f, CV_32FC3, in->pixel_scale);
        std::vector<cv::Mat> ch(3);
        cv::split(f, ch);
        for (int c = 0; c < 3; c++) {
            float sd = in->std[c] != 0 ? in->std[c] : 1.f;
            ch[c] = (ch[c] - in->mean[c]) / sd;
        }
        cv::merge(ch, f);
        cv::Mat blob = cv::dnn::blobFromImage(f, 1.0, cv::Size(), cv::Scalar(), false, false, CV_32F);
        n->net.setInput(blob);
        cv::Mat o = n->net.forward();
        int count = (int)o.total();
        const float *p = o.ptr<float>();
        int k = std::min(count, max);
        for (int i = 0; i < k; i++) out[i] = p[i];
        return k;
    } catch (const cv::Exception &e) {
        fg_set_err(err, errlen, e.what());
        return -1;
    }
}

}  // extern "C"
