#!/usr/bin/env python3
"""Rendered webcam rooms for the passive-cue cost (#15 item 7, docs/benchmarks.md): a fixture person (inside an
ellipse) pasted at 640x480 in front of a door, an open doorway, book shelves, a window; sensor noise; mpeg4 q3.
Deterministic: the same bytes on every run (seeded book spines, ffmpeg's fixed noise seed).

  scripts/pad-bench-rooms.py OUTDIR [FIXTURES]   -> OUTDIR/<scene>_<person>.mp4 (2 s, 16 fps) and OUTDIR/rooms.tsv
  facegate bench --video OUTDIR/door_krz.mp4 --frames 30 --repeats 30 --threads 1      # each clip, release build

Needs python3 and ffmpeg only; FIXTURES defaults to ../shared/fixtures beside the repository. rooms.tsv lists the
clips in the evaluate-pad manifest format (bona-fide, source room-<scene>).
"""
import os, random, subprocess, sys

out = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
fx = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "../../shared/fixtures")
os.makedirs(out, exist_ok=True)
people = {  # clip, ellipse centre x, y, axes a, b (in the clip scaled to 640x480)
    "krz": ("liveness/Krzysiek354__Python_Face_Detection/videos/real.mp4", 330, 270, 130, 210),
    "les": ("liveness/lestari15__CNN-face-detection/videos/real.mp4", 320, 250, 140, 220),
    "d3": ("motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4", 320, 250, 150, 230),
}

def box(x, y, w, h, c):
    return f"drawbox=x={int(x)}:y={int(y)}:w={max(1, int(w))}:h={max(1, int(h))}:c=0x{c:06X}:t=fill"

def rgb(r):
    return (r.randrange(30, 230) << 16) | (r.randrange(30, 230) << 8) | r.randrange(30, 230)

def shelves(r, x0, x1, y0=30, step=70, spines=True):
    f = []
    for y in range(y0, 480, step):
        f.append(box(x0, y, x1 - x0, 8, 0x6E5032))
        x = x0 + 2
        while spines and x < x1 - 6:
            w, h = r.randrange(5, 16), r.randrange(35, 60)
            f.append(box(x, y - h, min(w, x1 - 2 - x), h, rgb(r)))
            x += w + 1
    return f

def scene(name, r):
    f = []
    if name == "door":      # casing + leaf closed by a lintel, a picture on the leaf, shelves both sides, a window
        f += [box(150, 20, 340, 460, 0x96785A), box(164, 34, 312, 446, 0x785C42),
              box(250, 70, 140, 80, 0x282828), box(258, 78, 124, 64, 0xAAC8DC)]
        f += shelves(r, 0, 135) + shelves(r, 505, 640, y0=200)
        f += [box(520, 20, 110, 120, 0xEEEEEE), box(523, 23, 104, 114, 0x9CC4E4), box(573, 23, 4, 114, 0xEEEEEE)]
    elif name == "doorway":  # jambs running out of the picture at both ends (no lintel in view), panels on the leaf
        f += [box(140, 0, 360, 480, 0x96785A), box(154, 0, 332, 480, 0x785C42)]
        f += [box(x, 60, 3, 420, 0x644C34) for x in range(200, 460, 60)]
        f += shelves(r, 0, 125) + shelves(r, 515, 640)
    elif name == "shelves":  # a wall of book shelves behind the person, uprights beside the face
        f += [box(0, 0, 640, 480, 0x5A4030)]
        f += shelves(r, 0, 640, y0=60, step=80)
        f += [box(x, 0, 10, 480, 0x6E5032) for x in (0, 150, 480, 630)]
    elif name == "window":   # a window with mullions and a curtain edge each side of the face
        f += [box(110, 30, 420, 360, 0xF0F0F0), box(120, 40, 400, 340, 0xB4D2EA)]
        f += [box(x, 40, 8, 340, 0xF0F0F0) for x in (200, 316, 432)] + [box(120, 205, 400, 8, 0xF0F0F0)]
        f += [box(60, 0, 60, 480, 0x8C3C3C), box(520, 0, 60, 480, 0x8C3C3C)]
        f += [box(0, 420, 640, 60, 0x6E5032)]
    f.append("noise=alls=5:allf=t")
    return ",".join(f)

rows = []
for si, name in enumerate(["door", "doorway", "shelves", "window"]):
    for pi, (who, (clip, cx, cy, a, b)) in enumerate(people.items()):
        r = random.Random(100 * si + pi)
        dst = os.path.join(out, f"{name}_{who}.mp4")
        ell = f"if(lte(pow((X-{cx})/{a}\\,2)+pow((Y-{cy})/{b}\\,2)\\,1)\\,255\\,0)"
        graph = (f"[0]{scene(name, r)}[bg];[1]fps=16,scale=640:480,format=rgba,"
                 f"geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='{ell}'[p];[bg][p]overlay=shortest=1,format=yuv420p")
        if not os.path.exists(dst):
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0xC4BCAA:s=640x480:r=16:d=2",
                            "-i", os.path.join(fx, clip), "-filter_complex", graph, "-t", "2", "-c:v", "mpeg4",
                            "-q:v", "3", dst], check=True)
        rows.append(f"{dst}\tbona-fide\t\t\troom-{name}")
open(os.path.join(out, "rooms.tsv"), "w").write("\n".join(rows) + "\n")
