// Texture model back end: a binary RBF SVM (OpenCV ml) on standardised feature vectors, with class weights and
// Platt-scaled probabilities fitted on held-out decision values.
#include "internal.hpp"
#include <opencv2/ml.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

struct fg_svm {
    cv::Ptr<cv::ml::SVM> svm;
    cv::Mat mean, stdev;  // 1 x dim, CV_32F
    double sign = 1;      // makes larger decision values mean "label 1"
    double platt_a = -1, platt_b = 0;
    int calibrated = 0;
    int dim = 0;
};

namespace {

cv::Mat standardised(const fg_svm &m, const float *x, int n) {
    cv::Mat X(n, m.dim, CV_32F, const_cast<float *>(x));
    cv::Mat out(n, m.dim, CV_32F);
    for (int i = 0; i < n; i++) {
        cv::Mat r = out.row(i);
        cv::subtract(X.row(i), m.mean, r);
        cv::divide(r, m.stdev, r);
    }
    return out;
}

void decisions(const fg_svm &m, const float *x, int n, double *out) {
    if (n <= 0) return;
    cv::Mat Z = standardised(m, x, n), res;
    m.svm->predict(Z, res, cv::ml::StatModel::RAW_OUTPUT);
    for (int i = 0; i < n; i++) out[i] = m.sign * (double)res.at<float>(i, 0);
}

// Platt scaling by Newton's method with backtracking (Lin, Lin & Weng, "A note on Platt's probabilistic outputs for
// support vector machines", 2007), with Platt's smoothed targets to avoid overfitting separable data.
bool platt_fit(const double *f, const int *y, int n, double &A, double &B) {
    double prior1 = 0, prior0 = 0;
    for (int i = 0; i < n; i++) (y[i] == 1 ? prior1 : prior0) += 1;
    if (prior1 == 0 || prior0 == 0) return false;
    const double hi = (prior1 + 1) / (prior1 + 2), lo = 1 / (prior0 + 2);
    std::vector<double> t(n);
    for (int i = 0; i < n; i++) t[i] = y[i] == 1 ? hi : lo;
    A = 0;
    B = std::log((prior0 + 1) / (prior1 + 1));
    auto objective = [&](double a, double b) {
        double v = 0;
        for (int i = 0; i < n; i++) {
            double z = f[i] * a + b;
            v += z >= 0 ? t[i] * z + std::log1p(std::exp(-z)) : (t[i] - 1) * z + std::log1p(std::exp(z));
        }
        return v;
    };
    double fval = objective(A, B);
    const double sigma = 1e-12, eps = 1e-5, min_step = 1e-10;
    for (int it = 0; it < 100; it++) {
        double h11 = sigma, h22 = sigma, h21 = 0, g1 = 0, g2 = 0;
        for (int i = 0; i < n; i++) {
            double z = f[i] * A + B, p, q;
            if (z >= 0) { p = std::exp(-z) / (1 + std::exp(-z)); q = 1 / (1 + std::exp(-z)); }
            else { p = 1 / (1 + std::exp(z)); q = std::exp(z) / (1 + std::exp(z)); }
            double d2 = p * q;
            h11 += f[i] * f[i] * d2;
            h22 += d2;
            h21 += f[i] * d2;
            double d1 = t[i] - p;
            g1 += f[i] * d1;
            g2 += d1;
        }
        if (std::fabs(g1) < eps && std::fabs(g2) < eps) break;
        double det = h11 * h22 - h21 * h21;
        double dA = -(h22 * g1 - h21 * g2) / det, dB = -(-h21 * g1 + h11 * g2) / det;
        double gd = g1 * dA + g2 * dB, step = 1;
        while (step >= min_step) {
            double nA = A + step * dA, nB = B + step * dB, nf = objective(nA, nB);
            if (nf < fval + 1e-4 * step * gd) { A = nA; B = nB; fval = nf; break; }
            step /= 2;
        }
        if (step < min_step) break;
    }
    return std::isfinite(A) && std::isfinite(B);
}

double sigmoid_prob(double f, double A, double B) {
    double z = f * A + B;
    return z >= 0 ? std::exp(-z) / (1 + std::exp(-z)) : 1 / (1 + std::exp(z));
}

}  // namespace

extern "C" {

fg_svm *fg_svm_train(const float *x, const int *labels, int n, int dim, const fg_svm_params *p, char *err, int errlen) {
    if (!x || !labels || !p || n < 2 || dim < 1) { fg_set_err(err, errlen, "no training vectors"); return nullptr; }
    int pos = 0;
    for (int i = 0; i < n; i++) {
        if (labels[i] != 0 && labels[i] != 1) { fg_set_err(err, errlen, "labels must be 0 or 1"); return nullptr; }
        pos += labels[i];
    }
    if (pos == 0 || pos == n) { fg_set_err(err, errlen, "both classes must be present"); return nullptr; }
    try {
        auto m = new fg_svm;
        m->dim = dim;
        cv::Mat X(n, dim, CV_32F, const_cast<float *>(x));
        cv::reduce(X, m->mean, 0, cv::REDUCE_AVG, CV_32F);
        cv::Mat centred(n, dim, CV_32F);
        for (int i = 0; i < n; i++) { cv::Mat r = centred.row(i); cv::subtract(X.row(i), m->mean, r); }
        cv::Mat sq;
        cv::multiply(centred, centred, sq);
        cv::reduce(sq, m->stdev, 0, cv::REDUCE_AVG, CV_32F);
        cv::sqrt(m->stdev, m->stdev);
        // Constant features would divide by zero; 1e-6 leaves them at 0 after centring.
        cv::max(m->stdev, 1e-6, m->stdev);
        cv::Mat Z = standardised(*m, x, n);
        cv::Mat y(n, 1, CV_32S);
        for (int i = 0; i < n; i++) y.at<int>(i, 0) = labels[i];

        m->svm = cv::ml::SVM::create();
        m->svm->setType(cv::ml::SVM::C_SVC);
        m->svm->setKernel(cv::ml::SVM::RBF);
        m->svm->setC(p->c > 0 ? p->c : 1.0);
        m->svm->setGamma(p->gamma > 0 ? p->gamma : 1.0 / dim);
        cv::Mat w(1, 2, CV_64F);
        w.at<double>(0, 0) = p->weight_neg > 0 ? p->weight_neg : 1.0;
        w.at<double>(0, 1) = p->weight_pos > 0 ? p->weight_pos : 1.0;
        m->svm->setClassWeights(w);
        m->svm->setTermCriteria(cv::TermCriteria(cv::TermCriteria::MAX_ITER + cv::TermCriteria::EPS,
                                                 p->max_iter > 0 ? p->max_iter : 100000, 1e-6));
        if (!m->svm->train(Z, cv::ml::ROW_SAMPLE, y)) {
            delete m;
            fg_set_err(err, errlen, "the SVM solver failed");
            return nullptr;
        }
        // OpenCV's raw output sign depends on the label order; orient it so larger means label 1.
        std::vector<double> d(n);
        decisions(*m, x, n, d.data());
        double mp = 0, mn = 0;
        for (int i = 0; i < n; i++) (labels[i] ? mp : mn) += d[i];
        mp /= pos;
        mn /= (n - pos);
        if (mp < mn) m->sign = -1;
        return m;
    } catch (const std::exception &ex) {
        fg_set_err(err, errlen, std::string("SVM training failed: ") + ex.what());
        return nullptr;
    }
}

void fg_svm_decision(const fg_svm *m, const float *x, int n, double *out) {
    if (!m || !x || !out) return;
    decisions(*m, x, n, out);
}

int fg_svm_calibrate(fg_svm *m, const double *scores, const int *labels, int n) {
    if (!m || !scores || !labels || n < 2) return -1;
    double A, B;
    if (!platt_fit(scores, labels, n, A, B)) return -1;
    m->platt_a = A;
    m->platt_b = B;
    m->calibrated = 1;
    return 0;
}

void fg_svm_probability(const fg_svm *m, const float *x, int n, double *out) {
    if (!m || !x || !out || n <= 0) return;
    decisions(*m, x, n, out);
    for (int i = 0; i < n; i++) out[i] = sigmoid_prob(out[i], m->platt_a, m->platt_b);
}

void fg_svm_platt(const fg_svm *m, double *a, double *b) {
    if (!m) return;
    if (a) *a = m->platt_a;
    if (b) *b = m->platt_b;
}

int fg_svm_dim(const fg_svm *m) { return m ? m->dim : 0; }
int fg_svm_support_vectors(const fg_svm *m) { return m && m->svm ? m->svm->getSupportVectors().rows : 0; }

size_t fg_svm_serialize(const fg_svm *m, uint8_t **out) {
    if (!m || !out) return 0;
    try {
        cv::FileStorage fs(".yml", cv::FileStorage::WRITE | cv::FileStorage::MEMORY | cv::FileStorage::FORMAT_YAML);
        fs << "format" << "facegate-texture-svm";
        fs << "dim" << m->dim;
        fs << "sign" << m->sign;
        fs << "platt_a" << m->platt_a;
        fs << "platt_b" << m->platt_b;
        fs << "calibrated" << m->calibrated;
        fs << "mean" << m->mean;
        fs << "stdev" << m->stdev;
        fs << "svm" << "{";
        m->svm->write(fs);
        fs << "}";
        return fg_export_bytes(fs.releaseAndGetString(), out);
    } catch (...) {
        return 0;
    }
}

fg_svm *fg_svm_deserialize(const uint8_t *data, size_t len, char *err, int errlen) {
    std::string bytes;
    if (!fg_import_bytes(data, len, bytes, err, errlen)) return nullptr;
    try {
        cv::FileStorage fs(bytes, cv::FileStorage::READ | cv::FileStorage::MEMORY);
        std::string format;
        fs["format"] >> format;
        if (format != "facegate-texture-svm") { fg_set_err(err, errlen, "weights are not a texture SVM"); return nullptr; }
        auto m = new fg_svm;
        fs["dim"] >> m->dim;
        fs["sign"] >> m->sign;
        fs["platt_a"] >> m->platt_a;
        fs["platt_b"] >> m->platt_b;
        fs["calibrated"] >> m->calibrated;
        fs["mean"] >> m->mean;
        fs["stdev"] >> m->stdev;
        m->svm = cv::ml::SVM::create();
        m->svm->read(fs["svm"]);
        if (m->dim <= 0 || m->mean.cols != m->dim || m->stdev.cols != m->dim || !m->svm->isTrained()) {
            delete m;
            fg_set_err(err, errlen, "texture SVM weights are incomplete");
            return nullptr;
        }
        return m;
    } catch (const std::exception &ex) {
        fg_set_err(err, errlen, std::string("texture SVM weights are damaged: ") + ex.what());
        return nullptr;
    }
}

void fg_svm_free(fg_svm *m) { delete m; }

}  // extern "C"
