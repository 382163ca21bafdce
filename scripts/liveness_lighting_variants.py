#!/usr/bin/env python3
"""Lighting and camera variants of the liveness manifest's clips (docs/passive-liveness.md, "Lighting and cameras on
video"): every clip of Tests/Fixtures/liveness-manifest.tsv (genuine clips, the fixture phone replays, and the
simulator print / moving-print / screen / replay attacks rendered first with `facegate attack` exactly as
`evaluate-liveness` renders them: 8 s at 30 fps, same seed) re-made with ffmpeg as another camera or room would
give it. The timeline is kept (same timestamps, `-fps_mode passthrough`), so the manifest's event times still hold.

Usage: scripts/liveness_lighting_variants.py OUTDIR [--variants dark,backlit,...] [--manifest M]
  Writes OUTDIR/<variant>/liveness.tsv (the manifest with paths to the variant clips; render= options dropped, the
  action-loop row left out) and OUTDIR/<variant>/pad.tsv (one evaluate-pad row per clip: path, label, -, -, source;
  rows cut with start=/end= are left out of pad.tsv, their whole clip holds other people). Then e.g.:
    facegate evaluate-liveness --manifest OUTDIR/dark/liveness.tsv --fps 12 --passive --json
    facegate evaluate-liveness --manifest OUTDIR/fps60/liveness.tsv --fps native --passive --json
    facegate evaluate-pad --manifest OUTDIR/dark/pad.tsv --by-source --max-frames 60 --json
Environment: FACEGATE (the CLI, default .build/debug/facegate), FFMPEG (default ffmpeg). Existing files are kept
unless FORCE=1. Deterministic for a given ffmpeg build (noise seeded).

Variants (all re-encoded H.264 crf 18 unless said, yuv420p):
  orig     the clip re-encoded only (the reference for the others)
  dark     -1.5 EV: linear light x0.354 (x0.624 on the sRGB-like values), sensor noise (temporal, luma 12 / chroma 6
           at the dark level), then the camera's auto-gain: a partial gamma lift (values^(1/1.15)) that amplifies the noise
  backlit  bright window behind the person: the centre of the frame (the face, ellipse 0.30 W x 0.42 H around
           (W/2, 0.45 H)) x0.5 luma, the rest x1.7 + 50 (clipped: a blown background), a smooth ramp between
  warm     tungsten cast: colortemperature 3000 K (ffmpeg colortemperature, mix 1)
  cool     cold LED / daylight cast: colortemperature 9000 K
  w320     a 320 px wide webcam (height by aspect, even)
  p720     a 720p webcam (height 720, width by aspect; upscales the small clips, downscales 1080p)
  fps60    60 fps by repeated frames (ffmpeg fps=60); run it at --fps native
  crf35    strong H.264: crf 35 (preset medium)
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ["orig", "dark", "backlit", "warm", "cool", "w320", "p720", "fps60", "crf35"]

# -1.5 EV on gamma-2.2-like values: 2^-1.5 = 0.354 in linear light -> 0.354^(1/2.2) = 0.624.
DARK_GAIN = 0.624
AUTO_GAIN_GAMMA = 1.15          # the camera's partial lift of the dark image (mid-grey 0.31 -> 0.36: still dark)
BACKLIT_FACE, BACKLIT_BG, BACKLIT_BG_OFFSET = 0.5, 1.7, 50


def vf(variant):
    """ffmpeg -vf chain for a variant (None: filter_complex built elsewhere)."""
    if variant in ("orig", "crf35"):
        return "format=yuv420p"
    if variant == "dark":
        return (f"lutrgb=r=val*{DARK_GAIN}:g=val*{DARK_GAIN}:b=val*{DARK_GAIN},format=yuv420p,"
                "noise=c0s=12:c1s=6:c2s=6:allf=t:all_seed=7,"
                f"lutyuv=y='255*pow(val/255\\,1/{AUTO_GAIN_GAMMA})',format=yuv420p")
    if variant == "backlit":
        # One mask frame (geq is slow per pixel: computed once, then repeated by maskedmerge), 0 on the face ellipse,
        # 255 on the background, a ramp between; the darkened frame where the mask is 0, the blown one where 255.
        d = "hypot((X-W/2)/(0.30*W)\\,(Y-0.45*H)/(0.42*H))"
        m = f"255*clip(({d}-0.8)/0.6\\,0\\,1)"
        return (f"[0:v]format=yuv444p,split=3[a][b][c];[a]lutyuv=y=val*{BACKLIT_FACE}[dk];"
                f"[b]lutyuv=y='min(255\\,val*{BACKLIT_BG}+{BACKLIT_BG_OFFSET})'[br];"
                f"[c]trim=end_frame=1,geq=lum='{m}':cb='{m}':cr='{m}'[m];"
                "[dk][br][m]maskedmerge,format=yuv420p")
    if variant == "warm":
        return "colortemperature=temperature=3000:mix=1,format=yuv420p"
    if variant == "cool":
        return "colortemperature=temperature=9000:mix=1,format=yuv420p"
    if variant == "w320":
        return "scale=320:-2:flags=area,format=yuv420p"
    if variant == "p720":
        return "scale=-2:720:flags=bicubic,format=yuv420p"
    if variant == "fps60":
        return "fps=60,format=yuv420p"
    raise SystemExit(f"unknown variant {variant}")


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write(" ".join(cmd) + "\n" + r.stderr[-2000:])
        raise SystemExit(r.returncode)


def make(src, dst, variant, ffmpeg):
    if os.path.exists(dst) and os.environ.get("FORCE") != "1":
        return
    crf = "35" if variant == "crf35" else "18"
    preset = "medium" if variant == "crf35" else "veryfast"
    timing = [] if variant == "fps60" else ["-fps_mode", "passthrough"]
    flt = vf(variant)
    run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", src, "-an",
         "-filter_complex" if flt.startswith("[0:v]") else "-vf", flt, *timing,
         "-c:v", "libx264", "-preset", preset, "-crf", crf, "-threads", "2", dst + ".tmp.mp4"])
    os.replace(dst + ".tmp.mp4", dst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--manifest", default=os.path.join(ROOT, "Tests/Fixtures/liveness-manifest.tsv"))
    a = ap.parse_args()
    fg = os.environ.get("FACEGATE", os.path.join(ROOT, ".build/debug/facegate"))
    ffmpeg = os.environ.get("FFMPEG", "ffmpeg")
    out = os.path.abspath(a.outdir)
    os.makedirs(os.path.join(out, "src"), exist_ok=True)
    mdir = os.path.dirname(os.path.abspath(a.manifest))
    rows = []
    for line in open(a.manifest):
        if line.startswith("#") or not line.strip() or line.startswith("path\t"):
            continue
        f = line.rstrip("\n").split("\t")
        path, label, actions = f[0], f[1], f[2]
        opts = dict(kv.split("=", 1) for kv in (f[3].split() if len(f) > 3 and f[3] != "-" else []))
        note = f[4] if len(f) > 4 else ""
        if "loop" in opts:
            continue                                   # the action loop is about the plan, not the camera
        full = os.path.normpath(os.path.join(mdir, path))
        m = re.search(r"([^/]+__[^/]+)/", full)
        source = m.group(1) if m else os.path.basename(os.path.dirname(full))
        base = os.path.splitext(os.path.basename(full))[0]
        if "render" in opts:
            kind, seed = opts.pop("render"), opts.pop("seed", "1")
            dur = opts.pop("duration", "8")
            name = f"{kind}-s{seed}-{base}"
            src = os.path.join(out, "src", name + ".mp4")
            if not os.path.exists(src) or os.environ.get("FORCE") == "1":
                run([fg, "attack", "--input", full, "--kind", kind, "--seed", seed, "--duration", dur,
                     "--fps", "30", "--output", src])
            source = "simulator"
        else:
            name, src = f"{source}_{base}", full
        rows.append(dict(name=name, src=src, label=label, actions=actions, opts=opts, note=note, source=source))
    for v in a.variants.split(","):
        vdir = os.path.join(out, v)
        os.makedirs(vdir, exist_ok=True)
        done = set()
        with open(os.path.join(vdir, "liveness.tsv"), "w") as lm, open(os.path.join(vdir, "pad.tsv"), "w") as pm:
            lm.write(f"# liveness manifest, variant {v} (scripts/liveness_lighting_variants.py)\n"
                     "path\tlabel\tactions\toptions\tnote\n")
            pm.write(f"# evaluate-pad manifest, variant {v}: path, label, depth, gyro, source\n")
            for r in rows:
                dst = os.path.join(vdir, r["name"] + ".mp4")
                if dst not in done:
                    make(r["src"], dst, v, ffmpeg)
                    done.add(dst)
                    if not r["opts"]:
                        pm.write(f"{dst}\t{r['label']}\t\t\t{r['source']}\n")
                opts = " ".join(f"{k}={x}" for k, x in r["opts"].items()) or "-"
                lm.write(f"{dst}\t{r['label']}\t{r['actions']}\t{opts}\t{r['note']}\n")
        print(f"{v}: {len(done)} clips -> {vdir}/liveness.tsv, pad.tsv", file=sys.stderr)


if __name__ == "__main__":
    main()
