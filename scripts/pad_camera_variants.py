#!/usr/bin/env python3
"""Camera variants of PAD stills (docs/passive-liveness.md, "Unseen cameras and resolutions"): every base still in
16 variants a different camera or pipeline would give, written as an evaluate-pad manifest (sources kept whole: a
variant keeps its base's source).

Usage: pad_camera_variants.py BASES.tsv OUTDIR > variants.tsv
       BASES.tsv rows: name<TAB>path<TAB>label<TAB>source (label bona-fide or an attack species)
       (needs: pip install "opencv-python-headless<5" pillow numpy — OpenCV 5 has no Haar cascade)

Variants: orig (a copy); w320 (longer side 320, a webcam); L4032 (upscaled bicubic to 4032 px, JPEG 92);
face400|face900|face1800 (face scaled to about that many pixels, cropped to a 4032x3024 window around the face when
larger: a phone held closer); port900 (face 900 px, 3024x4032 portrait window); face900_exif6 (face900 stored rotated,
EXIF orientation 6); on face900: JPEG 60 / 95, unsharp (sigma 2, amount 1.5), bilateral denoise, Gaussian blur
sigma 3, white balance warm (R x1.15, B x0.8) / cool (R x0.8, B x1.15), phone pipeline (noise sigma 3 -> blur 1.2 ->
unsharp -> JPEG 88). The face size comes from OpenCV's frontal Haar cascade (largest face; the image centre third
when none is found), deterministic noise (seed 7).
"""
import os
import sys

import cv2
import numpy as np
from PIL import Image

VARIANTS = ["orig", "w320", "L4032", "face400", "face900", "face1800", "port900", "face900_exif6", "face900_q60",
            "face900_q95", "face900_sharp", "face900_denoise", "face900_blur", "face900_warm", "face900_cool",
            "face900_phone"]
cascade = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml"))


def face_box(img):
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    s = min(1.0, 1200 / max(g.shape))
    small = cv2.resize(g, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else g
    faces = cascade.detectMultiScale(small, 1.1, 5, minSize=(30, 30))
    if len(faces) == 0:
        h, w = g.shape
        return (w / 3, h / 3, w / 3, h / 3)
    x, y, fw, fh = max(faces, key=lambda f: f[2] * f[3])
    return (x / s, y / s, fw / s, fh / s)


def scaled(img, f):
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))), interpolation=interp)


def face_window(img, box, face_px, win_w, win_h):
    f = face_px / box[2]
    big = scaled(img, f)
    cx, cy = (box[0] + box[2] / 2) * f, (box[1] + box[3] / 2) * f
    h, w = big.shape[:2]
    if w <= win_w and h <= win_h:
        return big
    ww, wh = min(w, win_w), min(h, win_h)
    x0 = int(min(max(0, cx - ww / 2), w - ww))
    y0 = int(min(max(0, cy - wh / 2), h - wh))
    return big[y0:y0 + wh, x0:x0 + ww]


def unsharp(img, sigma, amount):
    blur = cv2.GaussianBlur(img, (0, 0), sigma)
    return cv2.addWeighted(img, 1 + amount, blur, -amount, 0)


def balance(img, r, b):
    out = img.astype(np.float32)
    out[..., 2] *= r
    out[..., 0] *= b
    return np.clip(out, 0, 255).astype(np.uint8)


def save_jpeg(path, img, q=92):
    cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, q])


def save_exif6(path, img):
    # Orientation 6: the viewer rotates the stored pixels 90 degrees clockwise, so store them rotated counter-clockwise.
    rgb = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.save(path, quality=92, exif=exif.tobytes())


def main():
    bases, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    print("# camera variants (scripts/pad_camera_variants.py): path, label, depth, gyro, source, variant")
    for line in open(bases):
        if not line.strip() or line.startswith("#"):
            continue
        name, path, label, source = line.rstrip("\n").split("\t")[:4]
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            sys.exit(f"cannot read {path}")
        box = face_box(img)
        f900 = face_window(img, box, 900, 4032, 3024)
        for v in VARIANTS:
            ext = os.path.splitext(path)[1].lower() if v == "orig" else ".jpg"
            dst = os.path.join(out, f"{name}__{v}{ext}")
            if v == "orig":
                cv2.imwrite(dst, img) if ext not in (".jpg", ".jpeg") else open(dst, "wb").write(open(path, "rb").read())
            elif v == "w320":
                save_jpeg(dst, scaled(img, 320 / max(img.shape[:2])))
            elif v == "L4032":
                save_jpeg(dst, scaled(img, 4032 / max(img.shape[:2])))
            elif v in ("face400", "face900", "face1800"):
                save_jpeg(dst, face_window(img, box, int(v[4:]), 4032, 3024))
            elif v == "port900":
                save_jpeg(dst, face_window(img, box, 900, 3024, 4032))
            elif v == "face900_exif6":
                save_exif6(dst, f900)
            elif v == "face900_q60":
                save_jpeg(dst, f900, 60)
            elif v == "face900_q95":
                save_jpeg(dst, f900, 95)
            elif v == "face900_sharp":
                save_jpeg(dst, unsharp(f900, 2, 1.5))
            elif v == "face900_denoise":
                save_jpeg(dst, cv2.bilateralFilter(f900, 9, 40, 7))
            elif v == "face900_blur":
                save_jpeg(dst, cv2.GaussianBlur(f900, (0, 0), 3))
            elif v == "face900_warm":
                save_jpeg(dst, balance(f900, 1.15, 0.8))
            elif v == "face900_cool":
                save_jpeg(dst, balance(f900, 0.8, 1.15))
            elif v == "face900_phone":
                noisy = np.clip(f900.astype(np.float32) + rng.normal(0, 3, f900.shape), 0, 255).astype(np.uint8)
                save_jpeg(dst, unsharp(cv2.GaussianBlur(noisy, (0, 0), 1.2), 2, 1.0), 88)
            print(f"{os.path.abspath(dst)}\t{label}\t\t\t{source}\t{v}")


if __name__ == "__main__":
    main()
