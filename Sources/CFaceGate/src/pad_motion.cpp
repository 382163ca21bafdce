// Passive liveness: sparse optical flow for motion-sensor (gyroscope) consistency.
#include "internal.hpp"
#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>
#include <algorithm>
#include <cmath>
#include <vector>

extern "C" {

int fg_pad_motion_measure(const fg_image *prev, const fg_image *cur, int x, int y, int w, int h, int region,
                          fg_pad_motion *out) {
    if (!prev || !cur || !out) return -1;
    *out = fg_pad_motion{0, 0, 0, 0, 0};
    if (prev->mat.size() != cur->mat.size()) return -1;
    // Track on at most 320 px wide frames: ~2 ms on one core, still sub-pixel at full size after rescaling.
    double s = std::min(1.0, 320.0 / std::max(prev->mat.cols, prev->mat.rows));
    cv::Mat a, b;
    cv::Mat ga, gb;
    cv::cvtColor(prev->mat, ga, cv::COLOR_BGR2GRAY);
    cv::cvtColor(cur->mat, gb, cv::COLOR_BGR2GRAY);
    if (s < 1) {
        cv::resize(ga, a, cv::Size(), s, s, cv::INTER_AREA);
        cv::resize(gb, b, cv::Size(), s, s, cv::INTER_AREA);
    } else { a = ga; b = gb; }
    cv::Mat mask;
    if (region != 0 && w > 0 && h > 0) {
        cv::Rect fr((int)(x * s), (int)(y * s), (int)(w * s), (int)(h * s));
        fr &= cv::Rect(0, 0, a.cols, a.rows);
        if (region == 1) {
            mask = cv::Mat::zeros(a.size(), CV_8U);
            mask(fr).setTo(255);
        } else {
            mask = cv::Mat(a.size(), CV_8U, cv::Scalar(255));
            // Exclude the face and a margin around it (hair, shoulders move with the head).
            cv::Rect grown(fr.x - fr.width / 2, fr.y - fr.height / 2, fr.width * 2, fr.height * 3);
            grown &= cv::Rect(0, 0, a.cols, a.rows);
            mask(grown).setTo(0);
        }
    }
    std::vector<cv::Point2f> p0, p1;
    cv::goodFeaturesToTrack(a, p0, 120, 0.01, 6, mask);
    if (p0.size() < 6) return -1;
    std::vector<uint8_t> status;
    std::vector<float> errv;
    cv::calcOpticalFlowPyrLK(a, b, p0, p1, status, errv, cv::Size(15, 15), 3);
    std::vector<cv::Point2f> q0, q1;
    std::vector<float> dxs, dys;
    for (size_t i = 0; i < p0.size(); i++) {
        if (!status[i]) continue;
        q0.push_back(p0[i]); q1.push_back(p1[i]);
        dxs.push_back(p1[i].x - p0[i].x); dys.push_back(p1[i].y - p0[i].y);
    }
    out->tracked = (int)q0.size();
    if (q0.size() < 6) return -1;
    auto med = [](std::vector<float> v) { size_t m = v.size() / 2; std::nth_element(v.begin(), v.begin() + m, v.end()); return (double)v[m]; };
    out->dx = med(dxs) / s;
    out->dy = med(dys) / s;
    std::vector<uint8_t> inl;
    cv::Mat A = cv::estimateAffinePartial2D(q0, q1, inl, cv::RANSAC, 1.5);
    if (!A.empty()) {
        out->angle = std::atan2(A.at<double>(1, 0), A.at<double>(0, 0));
        out->inliers = cv::countNonZero(inl);
    }
    return 0;
}

}  // extern "C"
