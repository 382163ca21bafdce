// dlib DNN networks (MMOD detector, ResNet embedder), compiled in their own translation unit.
#pragma once
#include "internal.hpp"
#include <vector>

struct fg_mmod;
fg_mmod *fg_mmod_load(const char *path, char *err, int errlen);
void fg_mmod_detect(fg_mmod *m, const cv::Mat &bgr, int upsample, std::vector<fg_detection> &out);
void fg_mmod_free(fg_mmod *m);
struct fg_mmod_deleter { void operator()(fg_mmod *m) const { fg_mmod_free(m); } };
