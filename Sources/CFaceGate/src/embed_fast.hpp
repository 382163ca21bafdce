// Fast forward pass for dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1.dat): the same network
// and weights, evaluated by embed_fast.cpp (Winograd, own AVX-512 kernels, vectorised im2col + OpenBLAS sgemm) instead
// of dlib's generically compiled img2col (see embed_fast.cpp for the why and the measured numbers).
//
// The network is described layer by layer by a FastNetBuilder, driven from dnn_dlib.cpp, which walks the
// deserialised dlib net (so this file and embed_fast.cpp never include the slow-to-compile dlib DNN headers).
#pragma once
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

namespace fastnet {

struct Shape { int c = 0, h = 0, w = 0; long size() const { return (long)c * h * w; } };

struct Op {
    enum Kind { Conv, Affine, Relu, MaxPool, AvgPool, GlobalAvg, Add, FC } kind;
    int in = -1, in2 = -1, out = -1;       // blob indices
    int kh = 0, kw = 0, sy = 1, sx = 1, py = 0, px = 0;
    bool relu = false;                      // ReLU fused after the op
    std::vector<float> w, b;                // Conv: K x (C*kh*kw), bias K (affine folded in); FC: O x I; Affine: gamma, beta
    std::vector<int> gather;                // Conv: im2col input offset per (tap, output pixel), -1 = zero padding
    std::vector<float> wino;                // Conv by Winograd F(2x2,3x3): G g G^T, 16 x K x C (empty: im2col + sgemm)
    bool smallMap = false;                  // Conv on a map of <= 16 pixels by embed_fast.cpp's own kernel
    bool map64 = false;                     // Conv on an 8x8 map by embed_fast.cpp's own AVX-512 kernel (w pre-packed)
    std::vector<int> live;                  // smallMap: im2col rows with at least one input value (not all padding)
    std::vector<int> tapOffset;             // direct stride-2 kernel: per tap, offset in the deinterleaved input (else empty)
};

/// A compiled network: blobs (fixed shapes, input blob 0) and the ops in forward order. Not thread-safe (scratch
/// buffers are reused between calls); one per fg_embedder.
class Net {
public:
    Shape inputShape() const { return shapes_[0]; }
    int outputSize() const { return (int)shapes_[out_].size(); }
    /// input: planar float tensor of inputShape(); out: outputSize() floats.
    void forward(const float *input, float *out);

private:
    friend class Builder;
    std::vector<Shape> shapes_;
    std::vector<Op> ops_;
    int out_ = 0;
    std::vector<std::vector<float>> data_;
    std::vector<float> cols_, rowTmp_, winoIn_, winoOut_, winoRows_, padded_, deint_;
    void winogradConv(const Op &op, const Shape &in, const Shape &out, const float *src, float *dst);
};

/// Receives the layers in forward order (input first), with dlib's semantics: con_ padding/stride as given,
/// affine_ per channel, add_prev_ zero-pads both operands to the larger size in every dimension, pooling without
/// padding rounds down, fc_ weights stored I x O (dlib's layout). Throws std::runtime_error on anything else.
class Builder {
public:
    Builder(int c, int h, int w);
    /// true (default): stride-1 3x3 convolutions on larger maps by Winograd F(2x2,3x3), convolutions on tiny maps by
    /// an own AVX2 kernel; false: every convolution by im2col + sgemm (kept for A/B timing and accuracy checks).
    bool customKernels = true;
    void conv(int k, int kh, int kw, int sy, int sx, int py, int px, const float *w, const float *bias);
    void affine(const float *gamma, const float *beta);
    void relu();
    /// kh == 0: average over the whole map (dlib avg_pool_everything).
    void pool(bool isMax, int kh, int kw, int sy, int sx, int py, int px);
    void tag(unsigned long id);
    void skip(unsigned long id);
    void addPrev(unsigned long id);
    void fc(int outputs, const float *w, const float *bias);
    std::unique_ptr<Net> finish();

private:
    int newBlob(Shape s);
    bool fusable(int blob) const;   // produced by the last op and not referenced by a tag
    std::unique_ptr<Net> net_;
    int cur_ = 0;
    std::map<unsigned long, int> tags_;
};

}  // namespace fastnet
