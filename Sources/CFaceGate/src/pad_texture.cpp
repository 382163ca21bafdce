// Passive liveness: colour-texture features (multi-scale uniform LBP in YCbCr and HSV).
#include "internal.hpp"
#include <opencv2/imgproc.hpp>
#include <array>
#include <cmath>
#include <vector>
#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace {

// Maps an 8-bit LBP code to its uniform-pattern bin: 58 patterns with at most two 0/1 transitions, bin 58 for the rest.
const std::array<uint8_t, 256> &uniformTable() {
    static const std::array<uint8_t, 256> table = [] {
        std::array<uint8_t, 256> t{};
        int next = 0;
        for (int c = 0; c < 256; c++) {
            int transitions = 0;
            for (int b = 0; b < 8; b++) {
                int a = (c >> b) & 1, n = (c >> ((b + 1) % 8)) & 1;
                transitions += a != n;
            }
            t[c] = transitions <= 2 ? (uint8_t)next++ : (uint8_t)58;
        }
        return t;
    }();
    return table;
}

// One channel, one radius: 8 neighbours on a circle (bilinear), histogram into hist[59], L1-normalised.
// Evaluated a row at a time, tap by tap, so each tap's interpolation runs 8 pixels per instruction where AVX2 is
// available; the arithmetic is the same expression in the same order either way (multiplies and adds kept separate,
// no FMA), so the features are bit-identical to the scalar loop's and trained texture models keep working.
void lbpHistogram(const cv::Mat &ch, int radius, float *hist) {
    const auto &table = uniformTable();
    // Integer counts in four interleaved copies (no dependency chain when neighbouring pixels share a bin); summed
    // and divided as doubles at the end, which gives exactly the values of the double counters this replaces.
    int32_t counts4[4][FG_PAD_LBP_BINS] = {};
    struct Tap { int x0, y0; float w00, w01, w10, w11; };
    Tap taps[8];
    for (int k = 0; k < 8; k++) {
        double a = 2 * M_PI * k / 8;
        double dx = radius * std::cos(a), dy = -radius * std::sin(a);
        int x0 = (int)std::floor(dx), y0 = (int)std::floor(dy);
        float fx = (float)(dx - x0), fy = (float)(dy - y0);
        if (fx < 1e-6f) fx = 0; if (fy < 1e-6f) fy = 0;
        taps[k] = {x0, y0, (1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
    }
    const int xBegin = radius, xEnd = ch.cols - radius - 1;
    const int n = xEnd - xBegin;
    long total = 0;
    if (n > 0) {
        thread_local std::vector<float> threshold;
        thread_local std::vector<int32_t> code;
        threshold.resize((size_t)n);
        code.resize((size_t)n);
        for (int y = radius; y < ch.rows - radius - 1; y++) {
            const uint8_t *row = ch.ptr<uint8_t>(y) + xBegin;
            for (int i = 0; i < n; i++) threshold[i] = (float)row[i] - 1e-3f;
            std::fill(code.begin(), code.end(), 0);
            for (int k = 0; k < 8; k++) {
                const Tap &t = taps[k];
                const uint8_t *r0 = ch.ptr<uint8_t>(y + t.y0) + xBegin + t.x0;
                const uint8_t *r1 = ch.ptr<uint8_t>(y + t.y0 + 1) + xBegin + t.x0;
                int i = 0;
#ifdef __AVX2__
                const __m256 w00 = _mm256_set1_ps(t.w00), w01 = _mm256_set1_ps(t.w01);
                const __m256 w10 = _mm256_set1_ps(t.w10), w11 = _mm256_set1_ps(t.w11);
                const __m256i bit = _mm256_set1_epi32(1 << k);
                auto load8 = [](const uint8_t *p) {
                    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
                };
                for (; i + 8 <= n; i += 8) {
                    __m256 v = _mm256_add_ps(
                        _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(w00, load8(r0 + i)), _mm256_mul_ps(w01, load8(r0 + i + 1))),
                                      _mm256_mul_ps(w10, load8(r1 + i))),
                        _mm256_mul_ps(w11, load8(r1 + i + 1)));
                    __m256 ge = _mm256_cmp_ps(v, _mm256_loadu_ps(&threshold[i]), _CMP_GE_OQ);
                    __m256i c = _mm256_loadu_si256((const __m256i *)&code[i]);
                    c = _mm256_or_si256(c, _mm256_and_si256(_mm256_castps_si256(ge), bit));
                    _mm256_storeu_si256((__m256i *)&code[i], c);
                }
#endif
                for (; i < n; i++) {
                    float v = t.w00 * r0[i] + t.w01 * r0[i + 1] + t.w10 * r1[i] + t.w11 * r1[i + 1];
                    code[i] |= (v >= threshold[i]) << k;
                }
            }
            int i = 0;
            for (; i + 4 <= n; i += 4) {
                counts4[0][table[code[i]]]++;
                counts4[1][table[code[i + 1]]]++;
                counts4[2][table[code[i + 2]]]++;
                counts4[3][table[code[i + 3]]]++;
            }
            for (; i < n; i++) counts4[0][table[code[i]]]++;
            total += n;
        }
    }
    for (int b = 0; b < FG_PAD_LBP_BINS; b++) {
        double count = (double)(counts4[0][b] + counts4[1][b] + counts4[2][b] + counts4[3][b]);
        hist[b] = total > 0 ? (float)(count / total) : 0.f;
    }
}

}  // namespace

extern "C" {

int fg_pad_lbp_features(const fg_image *crop, float *out, int max) {
    if (!crop || !out || max < FG_PAD_LBP_FEATURES || crop->mat.empty()) return -1;
    cv::Mat small;
    cv::resize(crop->mat, small, cv::Size(FG_PAD_LBP_SIDE, FG_PAD_LBP_SIDE), 0, 0,
               crop->mat.cols > FG_PAD_LBP_SIDE ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::Mat ycrcb, hsv;
    cv::cvtColor(small, ycrcb, cv::COLOR_BGR2YCrCb);
    cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV);
    std::vector<cv::Mat> chans(6);
    cv::Mat parts[3];
    cv::split(ycrcb, parts);
    chans[0] = parts[0]; chans[1] = parts[1]; chans[2] = parts[2];
    cv::split(hsv, parts);
    chans[3] = parts[0]; chans[4] = parts[1]; chans[5] = parts[2];
    int o = 0;
    for (int c = 0; c < 6; c++) {
        for (int r = 1; r <= 3; r++) {
            lbpHistogram(chans[c], r, out + o);
            o += FG_PAD_LBP_BINS;
        }
    }
    return o;
}

}  // extern "C"
