// Fast forward pass for dlib's ResNet face descriptor. Same network, same weights, same arithmetic up to float
// rounding (each affine_ folded into the convolution before it; sums in a different order): embeddings agree with
// dlib's own forward pass to ~1e-6 (EmbedderEquivalenceTests pins the tolerance on fixture faces).
//
// Why not dlib's forward pass: dlib convolves by img2col + BLAS sgemm, and its img2col lives in Debian's libdlib.so,
// compiled for generic x86-64 (libdlib-dev ships headers only, so it cannot be rebuilt with AVX2): perf on this
// machine put ~45 % of the 25.5 ms embedding in dlib::cpu::img2col. Here im2col is compiled in this translation unit
// (with the host's AVX2/FMA), copies whole rows, and feeds one OpenBLAS sgemm per convolution. OpenCV's DNN module
// (cv::dnn::Net built from the same layers) was measured as well: equivalent (2.7e-7) but only ~10 % faster than dlib.
#include "embed_fast.hpp"
#include <cblas.h>
#include <algorithm>
#include <cstring>
#include <string>

namespace fastnet {
namespace {

// im2col scratch per sgemm call: output rows are processed in bands whose columns fit this (well inside the 1 MB L2
// of this machine's Xeon; 256 KB measured fastest of 128 KB..1 MB for the 7x7 stem and the 35x35 blocks).
constexpr size_t kColumnBytes = 256 * 1024;
// Output width from which im2col copies whole rows instead of gathering through the offset table (17-wide maps:
// 0.158 ms by rows vs 0.183 ms by table; 8-wide: 0.145 vs 0.087).
constexpr int kRowCopyWidth = 16;

int outSize(int in, int k, int s, int p) {
    if (s <= 0 || in + 2 * p < k) throw std::runtime_error("layer window larger than its input");
    return 1 + (in + 2 * p - k) / s;
}

// Columns for output pixels [n0, n1) of a convolution: row (c, ky, kx), one entry per output pixel, gathered through
// the op's precomputed offsets (zero where the window leaves the image). One table lookup per value instead of a
// copy call per output row: the 8x8 and 4x4 blocks have rows of 4-8 floats, where per-row calls cost more than the data
// (measured per conv: 128x8x8 0.145 -> 0.087 ms, 256x4x4 0.135 -> 0.054 ms; but 32x35x35 0.20 -> 0.40 ms, hence below).
void im2col(const float *src, const Shape &in, const Op &op, int n, int n0, int n1, float *d) {
    const int taps = op.kh * op.kw;
    for (int c = 0; c < in.c; c++) {
        const float *plane = src + (long)c * in.h * in.w;
        for (int t = 0; t < taps; t++, d += n1 - n0) {
            const int *ix = op.gather.data() + (long)t * n;
            for (int i = n0; i < n1; i++) d[i - n0] = ix[i] >= 0 ? plane[ix[i]] : 0.f;
        }
    }
}

// Same columns for output rows [oy0, oy1), copied row by row (faster than the table once rows hold >= 16 floats).
void im2colRows(const float *src, const Shape &in, const Op &op, const Shape &out, int oy0, int oy1, float *d) {
    const int W = in.w, H = in.h, Wo = out.w;
    for (int c = 0; c < in.c; c++) {
        const float *plane = src + (long)c * H * W;
        for (int ky = 0; ky < op.kh; ky++) {
            for (int kx = 0; kx < op.kw; kx++) {
                // Output columns whose input column ox*sx - px + kx lies inside [0, W).
                int lo = 0, hi = Wo;
                while (lo < Wo && lo * op.sx - op.px + kx < 0) lo++;
                while (hi > lo && (hi - 1) * op.sx - op.px + kx >= W) hi--;
                for (int oy = oy0; oy < oy1; oy++, d += Wo) {
                    const int iy = oy * op.sy - op.py + ky;
                    if (iy < 0 || iy >= H) { std::fill(d, d + Wo, 0.f); continue; }
                    const float *row = plane + (long)iy * W - op.px + kx;
                    std::fill(d, d + lo, 0.f);
                    if (op.sx == 1) {
                        std::memcpy(d + lo, row + lo, sizeof(float) * (size_t)(hi - lo));
                    } else {
                        for (int ox = lo; ox < hi; ox++) d[ox] = row[ox * op.sx];
                    }
                    std::fill(d + hi, d + Wo, 0.f);
                }
            }
        }
    }
}

void reluInPlace(float *p, long n) {
    for (long i = 0; i < n; i++) p[i] = std::max(p[i], 0.f);
}

}  // namespace

void Net::forward(const float *input, float *out) {
    if (data_.size() != shapes_.size()) {
        data_.resize(shapes_.size());
        for (size_t i = 0; i < shapes_.size(); i++) data_[i].assign((size_t)shapes_[i].size(), 0.f);
    }
    std::memcpy(data_[0].data(), input, sizeof(float) * (size_t)shapes_[0].size());
    for (const Op &op : ops_) {
        const Shape &I = shapes_[op.in], &O = shapes_[op.out];
        const float *src = data_[op.in].data();
        float *dst = data_[op.out].data();
        switch (op.kind) {
        case Op::Conv: {
            const int ckk = I.c * op.kh * op.kw, n = O.h * O.w;
            for (int k = 0; k < O.c; k++) std::fill(dst + (long)k * n, dst + (long)(k + 1) * n, op.b[k]);
            if (op.kh == 1 && op.kw == 1 && op.sy == 1 && op.sx == 1 && op.py == 0 && op.px == 0) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O.c, n, ckk, 1.f, op.w.data(), ckk, src, n, 1.f,
                            dst, n);
                break;
            }
            // Bands of output rows whose columns stay in L2 (the stem's full im2col is 3 MB; banded it runs ~2x faster).
            const int band = std::max(1, std::min(O.h, (int)(kColumnBytes / (sizeof(float) * (size_t)ckk * O.w))));
            cols_.resize((size_t)ckk * band * O.w);
            for (int oy0 = 0; oy0 < O.h; oy0 += band) {
                const int oy1 = std::min(O.h, oy0 + band), nb = (oy1 - oy0) * O.w;
                if (O.w >= kRowCopyWidth) im2colRows(src, I, op, O, oy0, oy1, cols_.data());
                else im2col(src, I, op, n, oy0 * O.w, oy1 * O.w, cols_.data());
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O.c, nb, ckk, 1.f, op.w.data(), ckk, cols_.data(),
                            nb, 1.f, dst + (long)oy0 * O.w, n);
            }
            break;
        }
        case Op::Affine: {
            const long n = (long)I.h * I.w;
            for (int c = 0; c < I.c; c++)
                for (long i = 0; i < n; i++) dst[c * n + i] = src[c * n + i] * op.w[c] + op.b[c];
            break;
        }
        case Op::Relu:
            for (long i = 0; i < I.size(); i++) dst[i] = std::max(src[i], 0.f);
            break;
        case Op::MaxPool:
        case Op::AvgPool: {
            // Window rows reduced first (contiguous, vectorised), then the window columns.
            const bool isMax = op.kind == Op::MaxPool;
            const float area = (float)(op.kh * op.kw);
            rowTmp_.resize((size_t)I.w);
            float *t = rowTmp_.data();
            for (int c = 0; c < O.c; c++) {
                const float *p = src + (long)c * I.h * I.w;
                float *q = dst + (long)c * O.h * O.w;
                for (int oy = 0; oy < O.h; oy++) {
                    const float *r = p + (long)(oy * op.sy) * I.w;
                    std::copy(r, r + I.w, t);
                    for (int y = 1; y < op.kh; y++) {
                        const float *ry = r + (long)y * I.w;
                        if (isMax) for (int x = 0; x < I.w; x++) t[x] = std::max(t[x], ry[x]);
                        else for (int x = 0; x < I.w; x++) t[x] += ry[x];
                    }
                    for (int ox = 0; ox < O.w; ox++) {
                        const float *tx = t + ox * op.sx;
                        float acc = tx[0];
                        for (int x = 1; x < op.kw; x++) acc = isMax ? std::max(acc, tx[x]) : acc + tx[x];
                        q[oy * O.w + ox] = isMax ? acc : acc / area;
                    }
                }
            }
            break;
        }
        case Op::GlobalAvg: {
            const long n = (long)I.h * I.w;
            for (int c = 0; c < I.c; c++) {
                float s = 0;
                for (long i = 0; i < n; i++) s += src[c * n + i];
                dst[c] = s / (float)n;
            }
            break;
        }
        case Op::Add: {
            const Shape &J = shapes_[op.in2];
            const float *src2 = data_[op.in2].data();
            if (I.c == J.c && I.h == J.h && I.w == J.w) {
                for (long i = 0; i < O.size(); i++) dst[i] = src[i] + src2[i];
            } else {
                // dlib add_prev_: both operands zero-padded to the larger size in each dimension.
                for (int c = 0; c < O.c; c++)
                    for (int y = 0; y < O.h; y++)
                        for (int x = 0; x < O.w; x++) {
                            float a = (c < I.c && y < I.h && x < I.w) ? src[((long)c * I.h + y) * I.w + x] : 0.f;
                            float b = (c < J.c && y < J.h && x < J.w) ? src2[((long)c * J.h + y) * J.w + x] : 0.f;
                            dst[((long)c * O.h + y) * O.w + x] = a + b;
                        }
            }
            break;
        }
        case Op::FC: {
            const int inputs = (int)I.size();
            std::copy(op.b.begin(), op.b.end(), dst);
            cblas_sgemv(CblasRowMajor, CblasNoTrans, O.c, inputs, 1.f, op.w.data(), inputs, src, 1, 1.f, dst, 1);
            break;
        }
        }
        if (op.relu) reluInPlace(dst, O.size());
    }
    std::memcpy(out, data_[out_].data(), sizeof(float) * (size_t)shapes_[out_].size());
}

Builder::Builder(int c, int h, int w) : net_(new Net) {
    net_->shapes_.push_back(Shape{c, h, w});
}

int Builder::newBlob(Shape s) {
    net_->shapes_.push_back(s);
    return (int)net_->shapes_.size() - 1;
}

bool Builder::fusable(int blob) const {
    if (net_->ops_.empty() || net_->ops_.back().out != blob) return false;
    for (auto &t : tags_) if (t.second == blob) return false;
    return true;
}

void Builder::conv(int k, int kh, int kw, int sy, int sx, int py, int px, const float *w, const float *bias) {
    const Shape I = net_->shapes_[cur_];
    Op op{Op::Conv};
    op.kh = kh; op.kw = kw; op.sy = sy; op.sx = sx; op.py = py; op.px = px;
    const long ckk = (long)I.c * kh * kw;
    op.w.assign(w, w + k * ckk);
    op.b.assign((size_t)k, 0.f);
    if (bias) op.b.assign(bias, bias + k);
    op.in = cur_;
    const Shape O{k, outSize(I.h, kh, sy, py), outSize(I.w, kw, sx, px)};
    op.out = cur_ = newBlob(O);
    // im2col offsets: for each tap (ky, kx) and output pixel, the input offset in a channel plane, or -1 (padding).
    const int n = O.h * O.w;
    op.gather.resize((size_t)kh * kw * n);
    for (int ky = 0; ky < kh; ky++)
        for (int kx = 0; kx < kw; kx++)
            for (int oy = 0; oy < O.h; oy++)
                for (int ox = 0; ox < O.w; ox++) {
                    const int iy = oy * sy - py + ky, ix = ox * sx - px + kx;
                    op.gather[(size_t)(ky * kw + kx) * n + oy * O.w + ox] =
                        (iy >= 0 && iy < I.h && ix >= 0 && ix < I.w) ? iy * I.w + ix : -1;
                }
    net_->ops_.push_back(std::move(op));
}

void Builder::affine(const float *gamma, const float *beta) {
    const Shape I = net_->shapes_[cur_];
    if (fusable(cur_) && net_->ops_.back().kind == Op::Conv && !net_->ops_.back().relu) {
        Op &c = net_->ops_.back();
        const long ckk = (long)c.w.size() / I.c;
        for (int k = 0; k < I.c; k++) {
            for (long j = 0; j < ckk; j++) c.w[k * ckk + j] *= gamma[k];
            c.b[k] = c.b[k] * gamma[k] + beta[k];
        }
        return;
    }
    Op op{Op::Affine};
    op.w.assign(gamma, gamma + I.c);
    op.b.assign(beta, beta + I.c);
    op.in = cur_;
    op.out = cur_ = newBlob(I);
    net_->ops_.push_back(std::move(op));
}

void Builder::relu() {
    if (fusable(cur_) && net_->ops_.back().kind != Op::Relu) { net_->ops_.back().relu = true; return; }
    Op op{Op::Relu};
    op.in = cur_;
    op.out = cur_ = newBlob(net_->shapes_[op.in]);
    net_->ops_.push_back(std::move(op));
}

void Builder::pool(bool isMax, int kh, int kw, int sy, int sx, int py, int px) {
    const Shape I = net_->shapes_[cur_];
    Op op{isMax ? Op::MaxPool : Op::AvgPool};
    op.in = cur_;
    if (kh == 0 || kw == 0) {
        if (isMax) throw std::runtime_error("global max pooling is not supported");
        op.kind = Op::GlobalAvg;
        op.out = cur_ = newBlob(Shape{I.c, 1, 1});
    } else {
        if (py != 0 || px != 0) throw std::runtime_error("padded pooling is not supported");
        op.kh = kh; op.kw = kw; op.sy = sy; op.sx = sx;
        op.out = cur_ = newBlob(Shape{I.c, outSize(I.h, kh, sy, 0), outSize(I.w, kw, sx, 0)});
    }
    net_->ops_.push_back(std::move(op));
}

void Builder::tag(unsigned long id) { tags_[id] = cur_; }

void Builder::skip(unsigned long id) {
    auto t = tags_.find(id);
    if (t == tags_.end()) throw std::runtime_error("skip to an unknown tag " + std::to_string(id));
    cur_ = t->second;
}

void Builder::addPrev(unsigned long id) {
    auto t = tags_.find(id);
    if (t == tags_.end()) throw std::runtime_error("add_prev of an unknown tag " + std::to_string(id));
    const Shape a = net_->shapes_[cur_], b = net_->shapes_[t->second];
    Op op{Op::Add};
    op.in = cur_;
    op.in2 = t->second;
    op.out = cur_ = newBlob(Shape{std::max(a.c, b.c), std::max(a.h, b.h), std::max(a.w, b.w)});
    net_->ops_.push_back(std::move(op));
}

void Builder::fc(int outputs, const float *w, const float *bias) {
    const Shape I = net_->shapes_[cur_];
    const long inputs = I.size();
    Op op{Op::FC};
    op.w.resize((size_t)outputs * inputs);   // dlib stores I x O; sgemv wants O x I
    for (long i = 0; i < inputs; i++)
        for (int o = 0; o < outputs; o++) op.w[(size_t)o * inputs + i] = w[(size_t)i * outputs + o];
    op.b.assign((size_t)outputs, 0.f);
    if (bias) op.b.assign(bias, bias + outputs);
    op.in = cur_;
    op.out = cur_ = newBlob(Shape{outputs, 1, 1});
    net_->ops_.push_back(std::move(op));
}

std::unique_ptr<Net> Builder::finish() {
    if (net_->ops_.empty()) throw std::runtime_error("empty network");
    net_->out_ = cur_;
    return std::move(net_);
}

}  // namespace fastnet
