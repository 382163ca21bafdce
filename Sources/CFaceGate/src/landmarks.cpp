// Landmarks: dlib's cascade-of-regression-trees shape predictor (Kazemi & Sullivan), evaluated from a flat copy of
// the model that is laid out for this machine's memory system.
//
// Why not call dlib::shape_predictor directly: the 68-point model holds ~65 MB of leaf vectors (15 cascade levels x
// 500 trees x 16 leaves x 136 floats). dlib walks a tree, then adds its leaf, then walks the next tree: every leaf is a
// cache miss that the CPU waits for in series (perf on this machine: ~75 % of the call stalls on those loads). Here
// the 500 trees of a level are walked first (their splits are small and independent), then the selected leaves are
// summed with prefetching several trees ahead, so the misses overlap. The additions happen in dlib's order, element by
// element, so the result is bit-identical to dlib's (pinned by a test against the reference path below).
#include "internal.hpp"
#include <dlib/image_processing.h>
#include <dlib/opencv/cv_image.h>
#include <cmath>
#ifdef __AVX__
#include <immintrin.h>
#endif
#include <fstream>
#include <memory>
#include <vector>

namespace {

struct Split {
    uint32_t idx1, idx2;
    float thresh;
};

// One cascade level: its pixel sampling pattern and its trees, flattened.
struct Level {
    std::vector<unsigned long> anchorIdx;
    std::vector<dlib::vector<float, 2>> deltas;
    uint32_t splitsPerTree = 0;       // a full tree: leaves = splits + 1
    std::vector<Split> splits;        // trees * splitsPerTree
    std::vector<float> leaves;        // trees * (splitsPerTree + 1) * dim
    size_t trees = 0;
};

// How far ahead the summation prefetches leaf vectors: 8 trees x 544 bytes keeps ~70 cache lines in flight, enough to
// cover DRAM latency while staying well inside L1 (4..32 all measured 1.2-2.4 ms on this noisy 2-core VM; 8 is mid).
constexpr size_t kPrefetchTrees = 8;
// Trees walked side by side, branch-free (independent chains of loads and compares). Best of 8 interleaved runs on this
// machine, whole predictor call, 5-point / 68-point model: branchy walk 0.66 / 0.95 ms; branch-free 1 lane 0.48 / 0.71;
// 4 lanes 0.47 / 0.73; 8 lanes 0.43 / 0.69; 16 lanes 0.44 / 0.74.
constexpr size_t kWalkLanes = 8;

} // namespace

struct fg_shape_model {
    dlib::matrix<float, 0, 1> initialShape;
    std::vector<Level> levels;
    size_t dim = 0;
    // Set only by fg_shape_model_load_reference: dlib's own evaluator, kept for the equality test and benchmarks.
    std::unique_ptr<dlib::shape_predictor> reference;

    size_t parts() const { return dim / 2; }
};

namespace {

// Reads the file written by dlib::serialize(shape_predictor) (version 1: initial shape, forests, anchor indices,
// deltas) into the flat layout. Throws on a malformed file.
void loadFlat(const char *path, fg_shape_model &m) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open file");
    int version = 0;
    dlib::deserialize(version, in);
    if (version != 1) throw std::runtime_error("unsupported shape predictor version " + std::to_string(version));
    dlib::deserialize(m.initialShape, in);
    m.dim = (size_t)m.initialShape.size();
    std::vector<std::vector<dlib::impl::regression_tree>> forests;
    dlib::deserialize(forests, in);
    std::vector<std::vector<unsigned long>> anchors;
    std::vector<std::vector<dlib::vector<float, 2>>> deltas;
    dlib::deserialize(anchors, in);
    dlib::deserialize(deltas, in);
    if (anchors.size() != forests.size() || deltas.size() != forests.size())
        throw std::runtime_error("cascade sizes disagree");
    m.levels.resize(forests.size());
    for (size_t l = 0; l < forests.size(); l++) {
        Level &lv = m.levels[l];
        auto &trees = forests[l];
        lv.anchorIdx = std::move(anchors[l]);
        lv.deltas = std::move(deltas[l]);
        lv.trees = trees.size();
        lv.splitsPerTree = trees.empty() ? 0 : (uint32_t)trees[0].splits.size();
        if ((lv.splitsPerTree & (lv.splitsPerTree + 1)) != 0)   // dlib trees are complete: 2^depth - 1 splits
            throw std::runtime_error("regression trees are not complete binary trees");
        lv.splits.reserve(lv.trees * lv.splitsPerTree);
        lv.leaves.reserve(lv.trees * (lv.splitsPerTree + 1) * m.dim);
        for (auto &t : trees) {
            if (t.splits.size() != lv.splitsPerTree || t.leaf_values.size() != lv.splitsPerTree + 1)
                throw std::runtime_error("trees of one level differ in depth");
            for (auto &s : t.splits) {
                if (s.idx1 >= lv.anchorIdx.size() || s.idx2 >= lv.anchorIdx.size())
                    throw std::runtime_error("split refers to a missing feature pixel");
                lv.splits.push_back({(uint32_t)s.idx1, (uint32_t)s.idx2, s.thresh});
            }
            for (auto &leaf : t.leaf_values) {
                if ((size_t)leaf.size() != m.dim) throw std::runtime_error("leaf size differs from the shape size");
                lv.leaves.insert(lv.leaves.end(), leaf.begin(), leaf.end());
            }
            // Free the tree as it is copied, so loading peaks near one model's size, not two.
            std::vector<dlib::matrix<float, 0, 1>>().swap(t.leaf_values);
        }
    }
}

// cur += leaf, element-wise (so bit-identical to dlib's matrix +=), eight floats at a time where AVX is available.
inline void addLeaf(float *__restrict cur, const float *__restrict leaf, size_t dim) {
    size_t k = 0;
#ifdef __AVX__
    for (; k + 8 <= dim; k += 8)
        _mm256_storeu_ps(cur + k, _mm256_add_ps(_mm256_loadu_ps(cur + k), _mm256_loadu_ps(leaf + k)));
#endif
    for (; k < dim; k++) cur[k] += leaf[k];
}

template <typename Image>
void predictFlat(const fg_shape_model &m, const Image &img, const dlib::rectangle &rect, float *out) {
    using namespace dlib::impl;
    dlib::matrix<float, 0, 1> current = m.initialShape;
    std::vector<float> features;
    std::vector<const float *> chosen;
    const size_t dim = m.dim;
    for (const Level &lv : m.levels) {
        extract_feature_pixel_values(img, rect, current, m.initialShape, lv.anchorIdx, lv.deltas, features);
        // Pass 1: walk every tree of the level (same comparisons as dlib's regression_tree).
        chosen.resize(lv.trees);
        const uint32_t ns = lv.splitsPerTree;
        const size_t leafStride = (size_t)(ns + 1) * dim;
        // kWalkLanes trees at a time, branch-free: the split outcomes are data-dependent coin flips (a branch per node
        // mispredicted half the time was ~70 % of the 5-point predictor's time), and the lanes' independent loads
        // overlap. `!(d > t)` keeps dlib's comparison exactly, NaN included (NaN goes right, as in dlib).
        const float *feat = features.data();
        size_t t = 0;
        for (; t + kWalkLanes <= lv.trees; t += kWalkLanes) {
            uint32_t node[kWalkLanes] = {};
            const Split *sp[kWalkLanes];
            for (size_t k = 0; k < kWalkLanes; k++) sp[k] = lv.splits.data() + (t + k) * ns;
            while (node[0] < ns) {   // full trees: every lane reaches the leaves after the same number of steps
                for (size_t k = 0; k < kWalkLanes; k++) {
                    const Split &s = sp[k][node[k]];
                    node[k] = 2 * node[k] + 1 + (uint32_t)!(feat[s.idx1] - feat[s.idx2] > s.thresh);
                }
            }
            for (size_t k = 0; k < kWalkLanes; k++)
                chosen[t + k] = lv.leaves.data() + (t + k) * leafStride + (size_t)(node[k] - ns) * dim;
        }
        for (; t < lv.trees; t++) {
            const Split *sp = lv.splits.data() + t * ns;
            uint32_t i = 0;
            while (i < ns) {
                const Split &s = sp[i];
                i = 2 * i + 1 + (uint32_t)!(feat[s.idx1] - feat[s.idx2] > s.thresh);
            }
            chosen[t] = lv.leaves.data() + t * leafStride + (size_t)(i - ns) * dim;
        }
        // Pass 2: sum the leaves in tree order, prefetching ahead.
        float *cur = &current(0);
        for (size_t t = 0; t < lv.trees; t++) {
            if (t + kPrefetchTrees < lv.trees) {
                const char *p = (const char *)chosen[t + kPrefetchTrees];
                for (size_t off = 0; off < dim * sizeof(float); off += 64) __builtin_prefetch(p + off);
            }
            addLeaf(cur, chosen[t], dim);
        }
    }
    const dlib::point_transform_affine toImage = unnormalizing_tform(rect);
    for (size_t i = 0; i < m.parts(); i++) {
        // dlib stores parts as integer points (rounded); keep that so both evaluators agree exactly.
        dlib::point p = toImage(location(current, i));
        out[2 * i] = (float)p.x();
        out[2 * i + 1] = (float)p.y();
    }
}

dlib::rectangle boxOf(float x, float y, float w, float h) {
    return dlib::rectangle((long)std::lround(x), (long)std::lround(y), (long)std::lround(x + w - 1),
                           (long)std::lround(y + h - 1));
}

fg_shape_model *validated(std::unique_ptr<fg_shape_model> m, char *err, int errlen) {
    if (m->parts() != 68 && m->parts() != 5) {
        fg_set_err(err, errlen, "shape predictor must have 68 or 5 parts");
        return nullptr;
    }
    return m.release();
}

} // namespace

fg_shape_model *fg_shape_model_load(const char *path, char *err, int errlen) {
    auto m = std::make_unique<fg_shape_model>();
    try {
        loadFlat(path, *m);
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("not a dlib shape predictor: ") + e.what());
        return nullptr;
    }
    return validated(std::move(m), err, errlen);
}

fg_shape_model *fg_shape_model_load_reference(const char *path, char *err, int errlen) {
    auto m = std::make_unique<fg_shape_model>();
    try {
        m->reference = std::make_unique<dlib::shape_predictor>();
        dlib::deserialize(path) >> *m->reference;
        m->dim = m->reference->num_parts() * 2;
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("not a dlib shape predictor: ") + e.what());
        return nullptr;
    }
    return validated(std::move(m), err, errlen);
}

int fg_shape_model_parts(const fg_shape_model *m) { return m ? (int)m->parts() : 0; }

int fg_shape_predict(const fg_shape_model *m, const fg_image *img, float x, float y, float w, float h, float *out) {
    if (!m || !img || !out || img->mat.empty()) return 0;
    dlib::cv_image<dlib::bgr_pixel> cimg(img->mat);
    dlib::rectangle r = boxOf(x, y, w, h);
    if (m->reference) {
        dlib::full_object_detection shape = (*m->reference)(cimg, r);
        for (unsigned long i = 0; i < shape.num_parts(); i++) {
            out[2 * i] = (float)shape.part(i).x();
            out[2 * i + 1] = (float)shape.part(i).y();
        }
        return (int)shape.num_parts();
    }
    predictFlat(*m, cimg, r, out);
    return (int)m->parts();
}

void fg_shape_model_free(fg_shape_model *m) { delete m; }
