#!/usr/bin/env python3
"""trace_render.py - draw a window of a libgoroutine execution trace as SVG.

    tools/trace_render.py TRACE.json OUT.svg [--start MS] [--width MS]

Reads the Chrome trace-event JSON that GOROUTINE_TRACE=FILE writes
(src/trace.c) and draws one row per thread (M tracks first): a bar for
each goroutine run, coloured by its entry function and labelled
"G<id> <function>" where it fits, and a tick under the bar for each
instant (block, unblock, spawn, system call, steal, hand-off, preempt).
Without --start, the window of --width ms (default 4) with the most
goroutine runs is drawn. Standard library only; make trace-demo turns
the SVG into docs/trace.png with rsvg-convert.
"""
import argparse
import colorsys
import hashlib
import json
import sys
from xml.sax.saxutils import escape

MARKS = [  # instant name -> (colour, legend text)
    ("spawn", "#1f6fd1", "spawn"),
    ("block", "#d12f2f", "block (wait reason)"),
    ("unblock", "#2a9d3a", "unblock"),
    ("syscall enter", "#e08a00", "syscall enter/exit"),
    ("syscall exit", "#e08a00", None),
    ("steal", "#8e44ad", "steal"),
    ("handoff", "#5d4037", "P hand-off"),
    ("preempt", "#000000", "preempt"),
    ("timer", "#00897b", "timer"),
    ("netpoll", "#c2185b", "netpoll"),
]
MARK = {m[0]: m[1] for m in MARKS}


PALETTE = ["#8ecae6", "#ffb703", "#90be6d", "#f28482", "#b8a1e3", "#f6bd60",
           "#84a59d", "#e5989b", "#6d9dc5", "#c9ada7", "#a7c957", "#ffafcc"]


def colour(fn, used):
    """Distinct colours in order of first use, then hashed ones."""
    if len(used) < len(PALETTE):
        return PALETTE[len(used)]
    h = int(hashlib.md5(fn.encode()).hexdigest()[:6], 16)
    r, g, b = colorsys.hls_to_rgb((h % 360) / 360.0, 0.65, 0.5)
    return "#%02x%02x%02x" % (int(r * 255), int(g * 255), int(b * 255))


def best_window(slices, width):
    """Start of the window of `width` us where the most threads run
    goroutines, and of those, the one with the most runs."""
    slices = sorted(slices, key=lambda e: e["ts"])
    best, best_score = slices[0]["ts"], None
    step = max(1, len(slices) // 400)
    for i in range(0, len(slices), step):
        lo = slices[i]["ts"]
        tids, n = set(), 0
        for e in slices[i:]:
            if e["ts"] > lo + width:
                break
            tids.add(e["tid"])
            n += 1
        score = (len(tids), n)
        if best_score is None or score > best_score:
            best, best_score = lo, score
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("out")
    ap.add_argument("--start", type=float, help="window start, ms from the first event")
    ap.add_argument("--width", type=float, default=4.0, help="window width, ms")
    ap.add_argument("--px", type=int, default=1600, help="image width, pixels")
    a = ap.parse_args()

    with open(a.trace) as f:
        events = json.load(f)["traceEvents"]
    names, slices, instants = {}, [], []
    for e in events:
        if e["ph"] == "M" and e["name"] == "thread_name":
            names[e["tid"]] = e["args"]["name"]
        elif e["ph"] == "X":
            slices.append(e)
        elif e["ph"] == "i":
            instants.append(e)
    if not slices:
        sys.exit("trace_render: no goroutine slices in %s" % a.trace)
    t0 = min(e["ts"] for e in slices + instants)
    width = a.width * 1000.0
    lo = t0 + a.start * 1000.0 if a.start is not None else best_window(slices, width)
    hi = lo + width

    # Every M; other threads only if they record something in the window.
    tids = sorted({e["tid"] for e in slices + instants
                   if e["tid"] < 100000 or lo <= e["ts"] <= hi}, key=lambda t: (t >= 100000, t))
    left, right, top, row_h, bar_h = 150, 20, 56, 46, 26
    plot_w = a.px - left - right
    height = top + row_h * len(tids) + 90

    def x(t):
        return left + (min(max(t, lo), hi) - lo) / width * plot_w

    out = []
    w = out.append
    w('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
      'font-family="DejaVu Sans, sans-serif" font-size="11">' % (a.px, height))
    w('<rect width="100%" height="100%" fill="white"/>')
    w('<text x="%d" y="20" font-size="15" font-weight="bold">libgoroutine execution trace '
      '(GOROUTINE_TRACE): %.1f-%.1f ms</text>' % (left, (lo - t0) / 1000, (hi - t0) / 1000))
    # time axis
    step = width / 8
    for k in range(9):
        t = lo + k * step
        xx = x(t)
        w('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
          % (xx, top - 6, xx, top + row_h * len(tids)))
        w('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.2f ms</text>'
          % (xx, top - 10, (t - t0) / 1000))
    fns = {}
    for r, tid in enumerate(tids):
        y = top + r * row_h
        w('<text x="%d" y="%d" text-anchor="end" font-weight="bold">%s</text>'
          % (left - 8, y + bar_h / 2 + 4, escape(names.get(tid, str(tid)))))
        w('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eee"/>'
          % (left, y + row_h - 4, a.px - right, y + row_h - 4))
        for e in slices:
            if e["tid"] != tid or e["ts"] > hi or e["ts"] + e["dur"] < lo:
                continue
            fn = e["name"].split(" ", 1)[1] if " " in e["name"] else e["name"]
            if fn not in fns:
                fns[fn] = colour(fn, fns)
            c = fns[fn]
            x1, x2 = x(e["ts"]), x(e["ts"] + e["dur"])
            w('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" stroke="#333" '
              'stroke-width="0.3"/>' % (x1, y, max(x2 - x1, 0.6), bar_h, c))
            if x2 - x1 > 6.5 * len(e["name"]) + 4:
                w('<text x="%.1f" y="%d" font-size="10">%s</text>'
                  % (x1 + 3, y + bar_h / 2 + 4, escape(e["name"])))
        for e in instants:
            if e["tid"] != tid or not lo <= e["ts"] <= hi:
                continue
            c = MARK.get(e["name"], "#777")
            xx = x(e["ts"])
            w('<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="%s" stroke-width="1.2"/>'
              % (xx, y + bar_h + 2, xx, y + bar_h + 11, c))
    # legend: instants, then entry functions
    ly = top + row_h * len(tids) + 22
    lx = left
    for name, c, text in MARKS:
        if not text:
            continue
        w('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>'
          % (lx, ly - 9, lx, ly + 2, c))
        w('<text x="%d" y="%d">%s</text>' % (lx + 6, ly, escape(text)))
        lx += 14 + 7 * len(text)
    ly += 26
    lx = left
    for fn, c in sorted(fns.items()):
        w('<rect x="%d" y="%d" width="14" height="12" fill="%s" stroke="#333" stroke-width="0.3"/>'
          % (lx, ly - 10, c))
        w('<text x="%d" y="%d">%s</text>' % (lx + 18, ly, escape(fn)))
        lx += 30 + 7 * len(fn)
    w("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print("trace_render: %s: %d threads, %.1f-%.1f ms of %s"
          % (a.out, len(tids), (lo - t0) / 1000, (hi - t0) / 1000, a.trace))


if __name__ == "__main__":
    main()
