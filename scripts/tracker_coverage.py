#!/usr/bin/env python3
"""Tracker coverage per clip: on how many frames with a visible face does `facegate analyze CLIP` (the video tracker)
report that face, and on how many frames without one does it report a face anyway.

"Visible" = a per-frame, independent still-image detection finds a face: RetinaFace (`retinaface-silentface`, the
whole frame as its catalog recipe feeds it) or HOG at full resolution (`analyze` on the extracted frame: up to 1600 px,
one up-sampled retry) -- either one. A visible frame counts as tracked when a tracker face overlaps a reference face
(IoU > 0.3, or covers > 50 % of the reference box).

Usage: scripts/tracker_coverage.py [--facegate .build/debug/facegate] [--models DIR] [--detector NAME] CLIP...
Needs ffmpeg and the retinaface-silentface model in DIR (`facegate models install retinaface-silentface`).
Prints one row per clip and a JSON line per clip with --json.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def boxes(frames):
    return [[f["box"] for f in fr["faces"]] for fr in frames]


def iou(a, b):
    ax, ay, aw, ah = a; bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx)); iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / max(aw * ah + bw * bh - inter, 1), inter / max(bw * bh, 1)


def overlaps(t, r):
    i, cover = iou(t, r)
    return i > 0.3 or cover > 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--facegate", default=".build/debug/facegate")
    ap.add_argument("--models", default=None)
    ap.add_argument("--detector", default=None, help="tracker detector (default: the CLI default)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("clips", nargs="+")
    a = ap.parse_args()
    common = ["--models", a.models] if a.models else []
    print(f"{'clip':60s} {'frames':>6s} {'visible':>7s} {'tracked':>7s} {'rate':>7s} {'no-face frames':>14s} {'false':>5s}")
    for clip in a.clips:
        tmp = tempfile.mkdtemp(prefix="cov-")
        try:
            subprocess.run(["ffmpeg", "-loglevel", "error", "-i", clip, "-vf", "setpts=N/TB", "-fps_mode", "passthrough", "-q:v", "2",
                            os.path.join(tmp, "%06d.jpg")], check=True)
            retina = boxes(run_json([a.facegate, "analyze", tmp, "--json", "--detector", "retinaface-silentface"] + common))
            hog = boxes(run_json([a.facegate, "analyze", tmp, "--json", "--detector", "hog"] + common))
            trk_cmd = [a.facegate, "analyze", clip, "--json"] + common + (["--detector", a.detector] if a.detector else [])
            tracked = boxes(run_json(trk_cmd))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        n = min(len(retina), len(hog), len(tracked))
        visible = hit = noface = false = 0
        missed, false_frames = [], []
        for i in range(n):
            ref = retina[i] + hog[i]
            if ref:
                visible += 1
                if any(overlaps(t, r) for t in tracked[i] for r in ref):
                    hit += 1
                else:
                    missed.append(i)
            else:
                noface += 1
                if tracked[i]:
                    false += 1
                    false_frames.append(i)
        rate = hit / visible if visible else 1.0
        name = os.path.relpath(clip, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(clip)))))
        print(f"{name[-60:]:60s} {n:6d} {visible:7d} {hit:7d} {100 * rate:6.1f}% {noface:14d} {false:5d}")
        if a.json:
            print(json.dumps({"clip": clip, "frames": n, "visible": visible, "tracked": hit, "rate": rate,
                              "no_face_frames": noface, "face_on_no_face_frames": false,
                              "frame_counts": [len(retina), len(hog), len(tracked)],
                              "missed_frames": missed, "face_on_no_face_frame_list": false_frames}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
