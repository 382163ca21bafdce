// Attack simulator: renders bona-fide content as a print, a screen or a re-captured replay seen by a camera.
#include "internal.hpp"
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <cmath>
#include <random>

namespace {

// A plain wall-like background with a soft gradient and mild texture, deterministic by seed.
cv::Mat makeWall(int w, int h, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    cv::Vec3f c0(90 + 80 * u(rng), 90 + 80 * u(rng), 90 + 80 * u(rng));
    cv::Vec3f c1 = c0 * (0.6 + 0.3 * u(rng));
    cv::Mat wall(h, w, CV_32FC3);
    for (int y = 0; y < h; y++) {
        auto *row = wall.ptr<cv::Vec3f>(y);
        for (int x = 0; x < w; x++) {
            double t = 0.5 * x / std::max(1, w - 1) + 0.5 * y / std::max(1, h - 1);
            row[x] = c0 * (1 - t) + c1 * t;
        }
    }
    cv::Mat noise(h / 8 + 1, w / 8 + 1, CV_32FC3);
    cv::randn(noise, 0, 6);
    cv::resize(noise, noise, cv::Size(w, h), 0, 0, cv::INTER_CUBIC);
    wall += noise;
    return wall;
}

}  // namespace

extern "C" {

fg_image *fg_pad_simulate(const fg_image *content, const fg_image *background, const fg_sim_params *p) {
    if (!content || !p || p->out_w <= 0 || p->out_h <= 0 || content->mat.empty()) return nullptr;
    try {
        cv::theRNG().state = p->seed ? p->seed : 1;
        std::mt19937 rng(p->seed);
        cv::Mat c;
        content->mat.convertTo(c, CV_32FC3, 1.0 / 255);
        // Tone of the medium: ink gamut or display gamma, then saturation and tint.
        cv::pow(cv::max(c, 0), p->gamma > 0 ? p->gamma : 1.0, c);
        c = c * (p->contrast > 0 ? p->contrast : 1.0) + cv::Scalar::all(p->brightness);
        if (p->saturation > 0 && std::fabs(p->saturation - 1) > 1e-6) {
            cv::Mat g;
            cv::cvtColor(c, g, cv::COLOR_BGR2GRAY);
            cv::Mat g3;
            cv::cvtColor(g, g3, cv::COLOR_GRAY2BGR);
            c = g3 + (c - g3) * p->saturation;
        }
        cv::multiply(c, cv::Scalar(p->tint_b > 0 ? p->tint_b : 1, p->tint_g > 0 ? p->tint_g : 1, p->tint_r > 0 ? p->tint_r : 1), c);
        if (p->kind != FG_SIM_PRINT && p->black_level > 0)
            c = c * (1.0 - std::min(p->black_level, 0.5)) + cv::Scalar::all(std::min(p->black_level, 0.5));
        int W = c.cols, H = c.rows;
        if (p->kind == FG_SIM_PRINT) {
            // Halftone-like dot modulation and paper grain (fixed per print: seeded).
            if (p->halftone > 1) {
                cv::Mat dots(H, W, CV_32F);
                double cell = p->halftone;
                for (int y = 0; y < H; y++) {
                    float *r = dots.ptr<float>(y);
                    for (int x = 0; x < W; x++) {
                        double u = (x + y) / cell * M_PI, v = (x - y) / cell * M_PI;
                        r[x] = (float)(0.06 * std::cos(u) * std::cos(v));
                    }
                }
                cv::Mat d3;
                cv::cvtColor(dots, d3, cv::COLOR_GRAY2BGR);
                c += d3;
            }
            if (p->grain > 0) {
                cv::Mat grain(H, W, CV_32F);
                cv::randn(grain, 0, p->grain / 255.0);
                cv::Mat g3;
                cv::cvtColor(grain, g3, cv::COLOR_GRAY2BGR);
                c += g3;
            }
        } else if (p->grid_pitch > 0) {
            // Display sub-pixel grid: R, G, B stripes with the given pitch and angle. Re-sampling it through the
            // homography and the camera grid is what produces moiré.
            double a = p->grid_angle * M_PI / 180, ca = std::cos(a), sa = std::sin(a);
            double depth = std::clamp(p->grid_depth, 0.0, 1.0);
            for (int y = 0; y < H; y++) {
                auto *r = c.ptr<cv::Vec3f>(y);
                for (int x = 0; x < W; x++) {
                    double t = (x * ca + y * sa) / p->grid_pitch * 2 * M_PI;
                    double row = 0.5 + 0.5 * std::cos((-x * sa + y * ca) / p->grid_pitch * 2 * M_PI);
                    for (int k = 0; k < 3; k++) {
                        double phase = t - (2 - k) * 2 * M_PI / 3;  // BGR order: R stripe first
                        double m = 1 - depth + depth * (0.5 + 0.5 * std::cos(phase)) * (0.75 + 0.25 * row) * 1.6;
                        r[x][k] = (float)(r[x][k] * m);
                    }
                }
            }
        }
        // Border: white paper margin for prints, black bezel for screens.
        int B = std::max(0, p->border_px);
        cv::Mat medium;
        cv::Scalar borderColour = p->kind == FG_SIM_PRINT ? cv::Scalar(0.93, 0.95, 0.96) : cv::Scalar(0.05, 0.05, 0.06);
        cv::copyMakeBorder(c, medium, B, B, B, B, cv::BORDER_CONSTANT, borderColour);
        int MW = medium.cols, MH = medium.rows;
        // Specular reflection: a soft bright ellipse (screens and glossy prints).
        if (p->glare_strength > 0 && p->glare_radius > 0) {
            double gx = p->glare_x * MW, gy = p->glare_y * MH, rad = p->glare_radius * MW;
            for (int y = 0; y < MH; y++) {
                auto *r = medium.ptr<cv::Vec3f>(y);
                for (int x = 0; x < MW; x++) {
                    double dx = (x - gx) / rad, dy = (y - gy) / (rad * 0.6);
                    double d2 = dx * dx + dy * dy;
                    if (d2 > 4) continue;
                    double g = p->glare_strength * std::exp(-d2 * 1.5);
                    for (int k = 0; k < 3; k++) r[x][k] = (float)(r[x][k] + (1.0 - r[x][k]) * std::min(1.0, g * 1.4));
                }
            }
        }
        // Bend (prints): cylindrical sag about the vertical axis — horizontal compression towards the edges and
        // shading that darkens the side turned away from the light.
        if (p->kind == FG_SIM_PRINT && p->bend > 0) {
            cv::Mat mapx(MH, MW, CV_32F), mapy(MH, MW, CV_32F), shade(MH, MW, CV_32F);
            double R = 1.0 / std::max(1e-3, p->bend);
            for (int y = 0; y < MH; y++) {
                float *mx = mapx.ptr<float>(y), *my = mapy.ptr<float>(y), *sh = shade.ptr<float>(y);
                for (int x = 0; x < MW; x++) {
                    double u = (x - MW / 2.0) / (MW / 2.0);  // -1..1 projected
                    double ang = std::asin(std::clamp(u / R * 1.0, -1.0, 1.0));
                    double src = ang * R;  // arc length
                    mx[x] = (float)(MW / 2.0 + src * MW / 2.0);
                    my[x] = (float)y;
                    sh[x] = (float)(1.0 - 0.25 * std::fabs(std::sin(ang)) - 0.08 * std::sin(ang));
                }
            }
            cv::Mat bent;
            cv::remap(medium, bent, mapx, mapy, cv::INTER_LINEAR, cv::BORDER_CONSTANT, borderColour);
            cv::Mat s3;
            cv::cvtColor(shade, s3, cv::COLOR_GRAY2BGR);
            medium = bent.mul(s3);
        }
        // Scene.
        cv::Mat scene;
        if (background && !background->mat.empty()) {
            cv::resize(background->mat, scene, cv::Size(p->out_w, p->out_h), 0, 0, cv::INTER_AREA);
            scene.convertTo(scene, CV_32FC3, 1.0 / 255);
        } else {
            scene = makeWall(p->out_w, p->out_h, p->seed * 7919u + 1) / 255.0;
        }
        cv::Mat Hm(3, 3, CV_64F, (void *)p->H);
        cv::Mat warped, mask;
        // Supersample the warp: the display grid is finer than the camera pixels; averaging it (area) is what a
        // sensor does and what creates aliasing beats.
        int ss = p->grid_pitch > 0 ? 2 : 1;
        cv::Mat S = (cv::Mat_<double>(3, 3) << ss, 0, 0, 0, ss, 0, 0, 0, 1);
        cv::Mat Hs = S * Hm;
        cv::warpPerspective(medium, warped, Hs, cv::Size(p->out_w * ss, p->out_h * ss), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
        cv::Mat ones(MH, MW, CV_32F, cv::Scalar(1));
        cv::warpPerspective(ones, mask, Hs, cv::Size(p->out_w * ss, p->out_h * ss), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
        if (ss > 1) {
            cv::resize(warped, warped, cv::Size(p->out_w, p->out_h), 0, 0, cv::INTER_AREA);
            cv::resize(mask, mask, cv::Size(p->out_w, p->out_h), 0, 0, cv::INTER_AREA);
        }
        // Refresh banding on the screen's light only (rows of the output: the rolling shutter reads rows in turn).
        if (p->kind != FG_SIM_PRINT && p->banding_depth > 0 && p->banding_period > 0) {
            double depth = std::clamp(p->banding_depth, 0.0, 0.9), period = p->banding_period * p->out_h;
            for (int y = 0; y < warped.rows; y++) {
                double g = 1 - depth * (0.5 + 0.5 * std::cos(2 * M_PI * y / period + p->banding_phase));
                warped.row(y) *= g;
            }
        }
        cv::Mat m3;
        cv::cvtColor(mask, m3, cv::COLOR_GRAY2BGR);
        cv::Mat outF = warped.mul(m3) + scene.mul(cv::Scalar::all(1) - m3);
        // Camera: optics blur and sensor noise.
        if (p->blur > 0.05) cv::GaussianBlur(outF, outF, cv::Size(0, 0), p->blur);
        if (p->noise > 0) {
            cv::Mat n(outF.size(), CV_32FC3);
            cv::randn(n, 0, p->noise / 255.0);
            outF += n;
        }
        cv::Mat out8;
        outF.convertTo(out8, CV_8UC3, 255.0);
        (void)rng;
        return fg_wrap(out8);
    } catch (const cv::Exception &) {
        return nullptr;
    }
}

}  // extern "C"
