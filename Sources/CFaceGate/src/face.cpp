// Classical face pipeline: HOG and Haar detectors, OpenCV DNN detectors, head pose.
// dlib's DNN networks (MMOD, ResNet) live in dnn_dlib.cpp so edits here rebuild fast.
#include "internal.hpp"
#include "dnn_dlib.hpp"
#include <dlib/image_processing.h>
#include <dlib/opencv/cv_image.h>
#include <dlib/opencv/to_open_cv.h>
#include <opencv2/calib3d.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

struct fg_hog_deleter { void operator()(fg_hog *h) const { fg_hog_free(h); } };

struct fg_detector {
    fg_detector_kind kind;
    std::unique_ptr<fg_hog, fg_hog_deleter> hog;  // hog.cpp: dlib's frontal detector (fast or reference evaluation)
    cv::CascadeClassifier haar;
    cv::dnn::Net net;
    cv::Ptr<cv::FaceDetectorYN> yunet;
    std::unique_ptr<fg_mmod, fg_mmod_deleter> mmod;
};

namespace {


int detect_mat(fg_detector *d, const cv::Mat &bgr, int max_side, int upsample, fg_detection *out, int max,
               double hog_adjust = 0.0) {
    double s = fg_downscale_factor(bgr, max_side);
    cv::Mat small;
    if (s < 1.0) cv::resize(bgr, small, cv::Size(), s, s, cv::INTER_AREA); else small = bgr;
    std::vector<fg_detection> found;
    switch (d->kind) {
        case FG_DET_HOG: {
            cv::Mat gray;
            cv::cvtColor(small, gray, cv::COLOR_BGR2GRAY);
            std::vector<fg_hog_box> dets;
            double f = 1.0;
            if (upsample > 0) {
                dlib::array2d<unsigned char> up;
                dlib::assign_image(up, dlib::cv_image<unsigned char>(gray));
                for (int i = 0; i < upsample; i++) dlib::pyramid_up(up);
                fg_hog_detect(d->hog.get(), dlib::toMat(up), hog_adjust, dets);
                f = std::pow(2.0, upsample);
            } else {
                fg_hog_detect(d->hog.get(), gray, hog_adjust, dets);
            }
            for (const auto &r : dets) {
                found.push_back({(float)(r.left / f), (float)(r.top / f), (float)(r.width / f), (float)(r.height / f),
                                 (float)r.confidence});
            }
            break;
        }
        case FG_DET_MMOD:
            fg_mmod_detect(d->mmod.get(), small, upsample, found);
            break;
        case FG_DET_HAAR: {
            cv::Mat gray;
            cv::cvtColor(small, gray, cv::COLOR_BGR2GRAY);
            cv::equalizeHist(gray, gray);
            std::vector<cv::Rect> rects;
            std::vector<int> levels;
            std::vector<double> weights;
            d->haar.detectMultiScale(gray, rects, levels, weights, 1.1, 5, 0, cv::Size(30, 30), cv::Size(), true);
            for (size_t i = 0; i < rects.size(); i++) {
                auto &r = rects[i];
                found.push_back({(float)r.x, (float)r.y, (float)r.width, (float)r.height, (float)(i < weights.size() ? weights[i] : 1.0)});
            }
            break;
        }
        case FG_DET_DNN_SSD: {
            // Silent-Face's RetinaFace Caffe recipe: ~192x192 pixels, BGR, mean (104,117,123), 'detection_out'.
            cv::Mat in = small;
            double ar = (double)small.cols / small.rows;
            if (small.cols * small.rows >= 192 * 192) {
                cv::resize(small, in, cv::Size((int)(192 * std::sqrt(ar)), (int)(192 / std::sqrt(ar))), 0, 0, cv::INTER_LINEAR);
            }
            cv::Mat blob = cv::dnn::blobFromImage(in, 1.0, cv::Size(), cv::Scalar(104, 117, 123), false, false);
            d->net.setInput(blob, "data");
            cv::Mat o = d->net.forward("detection_out");
            cv::Mat det(o.size[2], o.size[3], CV_32F, o.ptr<float>());
            for (int i = 0; i < det.rows; i++) {
                float conf = det.at<float>(i, 2);
                if (conf < 0.5f) continue;
                float l = det.at<float>(i, 3) * small.cols, t = det.at<float>(i, 4) * small.rows;
                float r = det.at<float>(i, 5) * small.cols, b = det.at<float>(i, 6) * small.rows;
                if (r > l && b > t) found.push_back({l, t, r - l, b - t, conf});
            }
            break;
        }
        case FG_DET_YUNET: {
            d->yunet->setInputSize(small.size());
            cv::Mat faces;
            d->yunet->detect(small, faces);
            for (int i = 0; i < faces.rows; i++) {
                found.push_back({faces.at<float>(i, 0), faces.at<float>(i, 1), faces.at<float>(i, 2), faces.at<float>(i, 3),
                                 faces.at<float>(i, 14)});
            }
            break;
        }
    }
    return fg_emit_detections(found, s, out, max);
}

// Generic 3-D face (mm). Frame: x towards the subject's left (image right when frontal), y down, z away from
// the camera. Built from the classic six-point head model plus inner eye corners, nose bridge and nostrils.
struct ModelPoint { int index; double x, y, z; };
const ModelPoint kFaceModel[] = {
    {30, 0.0, 0.0, 0.0},        // nose tip
    {8, 0.0, 63.6, 12.5},       // chin
    {36, -43.3, -32.7, 26.0},   // subject's right eye, outer corner
    {45, 43.3, -32.7, 26.0},    // subject's left eye, outer corner
    {39, -14.0, -31.0, 22.0},   // right eye, inner corner
    {42, 14.0, -31.0, 22.0},    // left eye, inner corner
    {48, -28.9, 28.9, 24.1},    // mouth, subject's right corner
    {54, 28.9, 28.9, 24.1},     // mouth, subject's left corner
    {27, 0.0, -33.0, 14.0},     // nose bridge
    {31, -12.0, 3.0, 16.0},     // nostril, right
    {35, 12.0, 3.0, 16.0},      // nostril, left
};
constexpr int kFaceModelCount = sizeof(kFaceModel) / sizeof(kFaceModel[0]);

}  // namespace

extern "C" {

fg_detector *fg_detector_create(fg_detector_kind kind, const char *model, char *err, int errlen) {
    auto d = std::make_unique<fg_detector>();
    d->kind = kind;
    try {
        switch (kind) {
            case FG_DET_HOG: d->hog.reset(fg_hog_create(false)); break;
            case FG_DET_MMOD:
                d->mmod.reset(fg_mmod_load(model, err, errlen));
                if (!d->mmod) return nullptr;
                break;
            case FG_DET_HAAR:
                if (!d->haar.load(model)) { fg_set_err(err, errlen, "not a Haar cascade XML file"); return nullptr; }
                break;
            case FG_DET_DNN_SSD: {
                std::string spec(model);
                auto bar = spec.find('|');
                if (bar == std::string::npos) { fg_set_err(err, errlen, "SSD detector needs 'deploy.prototxt|weights.caffemodel'"); return nullptr; }
                d->net = cv::dnn::readNetFromCaffe(spec.substr(0, bar), spec.substr(bar + 1));
                if (d->net.empty()) { fg_set_err(err, errlen, "cannot load Caffe network"); return nullptr; }
                break;
            }
            case FG_DET_YUNET:
                d->yunet = cv::FaceDetectorYN::create(model, "", cv::Size(320, 320), 0.6f, 0.3f, 5000);
                if (d->yunet.empty()) { fg_set_err(err, errlen, "cannot load YuNet ONNX model"); return nullptr; }
                break;
        }
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("cannot load detector: ") + e.what());
        return nullptr;
    }
    return d.release();
}

fg_detector *fg_detector_create_hog_reference(char *err, int errlen) {
    auto d = std::make_unique<fg_detector>();
    d->kind = FG_DET_HOG;
    try {
        d->hog.reset(fg_hog_create(true));
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("cannot load detector: ") + e.what());
        return nullptr;
    }
    return d.release();
}

int fg_detect(fg_detector *d, const fg_image *img, int max_side, int upsample, fg_detection *out, int max) {
    if (!d || !img || !out || max <= 0) return 0;
    try {
        return detect_mat(d, img->mat, max_side, upsample, out, max);
    } catch (...) {
        return 0;
    }
}

int fg_detect_roi(fg_detector *d, const fg_image *img, int rx, int ry, int rw, int rh, int max_side,
                  fg_detection *out, int max) {
    if (!d || !img || !out || max <= 0) return 0;
    cv::Rect roi = fg_clip(rx, ry, rw, rh, img->mat);
    if (roi.width < 20 || roi.height < 20) return 0;
    try {
        int n = detect_mat(d, img->mat(roi), max_side, 0, out, max);
        for (int i = 0; i < n; i++) { out[i].x += roi.x; out[i].y += roi.y; }
        return n;
    } catch (...) {
        return 0;
    }
}

int fg_detect_roi_hog_adjusted(fg_detector *d, const fg_image *img, int rx, int ry, int rw, int rh, int max_side,
                               double adjust_threshold, fg_detection *out, int max) {
    if (!d || !img || !out || max <= 0 || d->kind != FG_DET_HOG) return 0;
    cv::Rect roi = fg_clip(rx, ry, rw, rh, img->mat);
    if (roi.width < 20 || roi.height < 20) return 0;
    try {
        int n = detect_mat(d, img->mat(roi), max_side, 0, out, max, adjust_threshold);
        for (int i = 0; i < n; i++) { out[i].x += roi.x; out[i].y += roi.y; }
        return n;
    } catch (...) {
        return 0;
    }
}

void fg_detector_free(fg_detector *d) { delete d; }

// The shape predictor (landmarks) lives in landmarks.cpp.

int fg_head_pose(const float *pts68, int width, int height, double *yaw, double *pitch, double *roll,
                 double *rvec_out, double *tvec_out) {
    if (!pts68 || width <= 0 || height <= 0) return -1;
    std::vector<cv::Point3d> obj;
    std::vector<cv::Point2d> imgp;
    for (int i = 0; i < kFaceModelCount; i++) {
        obj.emplace_back(kFaceModel[i].x, kFaceModel[i].y, kFaceModel[i].z);
        imgp.emplace_back(pts68[2 * kFaceModel[i].index], pts68[2 * kFaceModel[i].index + 1]);
    }
    double f = width;
    cv::Mat K = (cv::Mat_<double>(3, 3) << f, 0, width / 2.0, 0, f, height / 2.0, 0, 0, 1);
    // Start from a frontal pose at the distance implied by the eye span, so the iterative solver does not fall
    // into the mirrored solution.
    double ex = pts68[2 * 45] - pts68[2 * 36], ey = pts68[2 * 45 + 1] - pts68[2 * 36 + 1];
    double span = std::max(1.0, std::sqrt(ex * ex + ey * ey));
    double z = f * 86.6 / span;
    double nx = pts68[2 * 30], ny = pts68[2 * 30 + 1];
    cv::Mat rvec = cv::Mat::zeros(3, 1, CV_64F);
    cv::Mat tvec = (cv::Mat_<double>(3, 1) << (nx - width / 2.0) * z / f, (ny - height / 2.0) * z / f, z);
    try {
        if (!cv::solvePnP(obj, imgp, K, cv::noArray(), rvec, tvec, true, cv::SOLVEPNP_ITERATIVE)) return -1;
    } catch (...) {
        return -1;
    }
    cv::Mat R;
    cv::Rodrigues(rvec, R);
    // Facing direction (out of the face, towards the camera when frontal) and the subject's-left axis.
    cv::Mat fwd = R * (cv::Mat_<double>(3, 1) << 0, 0, -1);
    cv::Mat left = R * (cv::Mat_<double>(3, 1) << 1, 0, 0);
    double fx = fwd.at<double>(0), fy = fwd.at<double>(1), fz = fwd.at<double>(2);
    const double deg = 180.0 / M_PI;
    if (yaw) *yaw = std::atan2(fx, -fz) * deg;
    if (pitch) *pitch = std::atan2(-fy, std::sqrt(fx * fx + fz * fz)) * deg;
    if (roll) *roll = std::atan2(left.at<double>(1), left.at<double>(0)) * deg;
    if (rvec_out) for (int i = 0; i < 3; i++) rvec_out[i] = rvec.at<double>(i);
    if (tvec_out) for (int i = 0; i < 3; i++) tvec_out[i] = tvec.at<double>(i);
    return 0;
}

void fg_project_points(const double *pts3, int n, const double *rvec, const double *tvec, int width, int height,
                       float *out) {
    if (!pts3 || n <= 0 || !out) return;
    std::vector<cv::Point3d> obj;
    for (int i = 0; i < n; i++) obj.emplace_back(pts3[3 * i], pts3[3 * i + 1], pts3[3 * i + 2]);
    double f = width;
    cv::Mat K = (cv::Mat_<double>(3, 3) << f, 0, width / 2.0, 0, f, height / 2.0, 0, 0, 1);
    cv::Mat rv(3, 1, CV_64F, const_cast<double *>(rvec)), tv(3, 1, CV_64F, const_cast<double *>(tvec));
    std::vector<cv::Point2d> proj;
    cv::projectPoints(obj, rv, tv, K, cv::noArray(), proj);
    for (int i = 0; i < n; i++) { out[2 * i] = (float)proj[i].x; out[2 * i + 1] = (float)proj[i].y; }
}

}  // extern "C"
