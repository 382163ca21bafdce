#!/usr/bin/env python3
"""Reference MiniFASNet probabilities, following Silent-Face-Anti-Spoofing's own pipeline (test.py):
cv2.imread (BGR), RetinaFace box (src/anti_spoof_predict.py Detection.get_bbox: INTER_LINEAR resize to ~192x192 area,
mean 104/117/123, highest-confidence detection, [int(l), int(t), int(r-l+1), int(b-t+1)]), crop
(src/generate_patches.py CropImage._get_new_box + [t:b+1, l:r+1] slice + cv2.resize default bilinear to 80x80),
to_tensor without /255 (src/data_io/functional.py), network run with onnxruntime on the same ONNX files (instead of
torch), softmax per model, summed, arg-max = label (1 = real).

Usage: pad_reference.py FIXTURES_DIR IMAGE_RELPATH... > reference.tsv
       (needs: pip install onnxruntime opencv-python-headless numpy)
Writes: path  box(x,y,w,h)  v2 p0,p1,p2  v1se p0,p1,p2  label
"""
import math
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort

root = sys.argv[1]
models = {
    "v2": (2.7, os.path.join(root, "models/marcos4758__Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models/2.7_80x80_MiniFASNetV2.onnx")),
    "v1se": (4.0, os.path.join(root, "models/marcos4758__Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models/4_0_0_80x80_MiniFASNetV1SE.onnx")),
}
det_dir = os.path.join(root, "models/minivision-ai__Silent-Face-Anti-Spoofing/resources/detection_model")
detector = cv2.dnn.readNetFromCaffe(os.path.join(det_dir, "deploy.prototxt"), os.path.join(det_dir, "Widerface-RetinaFace.caffemodel"))
sessions = {k: ort.InferenceSession(p, providers=["CPUExecutionProvider"]) for k, (_, p) in models.items()}


def get_bbox(img):
    height, width = img.shape[0], img.shape[1]
    aspect_ratio = width / height
    if img.shape[1] * img.shape[0] >= 192 * 192:
        img = cv2.resize(img, (int(192 * math.sqrt(aspect_ratio)), int(192 / math.sqrt(aspect_ratio))),
                         interpolation=cv2.INTER_LINEAR)
    blob = cv2.dnn.blobFromImage(img, 1, mean=(104, 117, 123))
    detector.setInput(blob, "data")
    out = detector.forward("detection_out").squeeze()
    i = np.argmax(out[:, 2])
    left, top, right, bottom = out[i, 3] * width, out[i, 4] * height, out[i, 5] * width, out[i, 6] * height
    return [int(left), int(top), int(right - left + 1), int(bottom - top + 1)]


def new_box(src_w, src_h, bbox, scale):
    x, y, box_w, box_h = bbox
    scale = min((src_h - 1) / box_h, min((src_w - 1) / box_w, scale))
    nw, nh = box_w * scale, box_h * scale
    cx, cy = box_w / 2 + x, box_h / 2 + y
    l, t, r, b = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if l < 0: r -= l; l = 0
    if t < 0: b -= t; t = 0
    if r > src_w - 1: l -= r - src_w + 1; r = src_w - 1
    if b > src_h - 1: t -= b - src_h + 1; b = src_h - 1
    return int(l), int(t), int(r), int(b)


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


print("# path\tbox\tv2\tv1se\tlabel")
for rel in sys.argv[2:]:
    img = cv2.imread(os.path.join(root, rel))
    bbox = get_bbox(img)
    h, w = img.shape[:2]
    probs = {}
    for k, (scale, _) in models.items():
        l, t, r, b = new_box(w, h, bbox, scale)
        patch = cv2.resize(img[t:b + 1, l:r + 1], (80, 80))
        x = patch.transpose(2, 0, 1)[None].astype(np.float32)
        s = sessions[k]
        probs[k] = softmax(s.run(None, {s.get_inputs()[0].name: x})[0][0].astype(np.float64))
    label = int(np.argmax(probs["v2"] + probs["v1se"]))
    fmt = lambda p: ",".join(f"{v:.5f}" for v in p)
    print(f"{rel}\t{','.join(map(str, bbox))}\t{fmt(probs['v2'])}\t{fmt(probs['v1se'])}\t{label}")
