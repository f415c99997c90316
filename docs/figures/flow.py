"""Draw docs/figures/flow.png, the README's figure: codesign's data flow, from a trained DEQ to
a circuit verified in ngspice and a proxy fitted to it (``make docs`` regenerates it):

    python docs/figures/flow.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().with_suffix(".png")

BOXES = {  # name: (x, y, title, detail), in axes units
    "train": (0.13, 0.72, "train a DEQ", "z* = phi(W z* + U e + b)\n||W||_2 <= 0.9: a contraction"),
    "compile": (0.5, 0.72, "compile", "W, U, b -> conductances\nop-amp / BJT / sky130 neurons"),
    "spice": (0.87, 0.72, "ngspice", "operating points (.op),\ntransients from reset"),
    "compare": (0.87, 0.22, "verify", "equilibria vs PyTorch,\nsettling time, energy"),
    "fit": (0.5, 0.22, "calibrate the proxy",
            "a differentiable model of\nthe circuit, fitted to SPICE"),
    "aware": (0.13, 0.22, "physics-aware\ntraining",
              "fine-tune through the proxy\n(mismatch, rails, gain)"),
}
ARROWS = [("train", "compile"), ("compile", "spice"), ("spice", "compare"),
          ("compare", "fit"), ("fit", "aware"), ("aware", "train")]
W, H = 0.28, 0.34


def draw(out: Path = OUT) -> Path:
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.set_axis_off()
    for x, y, title, detail in BOXES.values():
        ax.add_patch(FancyBboxPatch((x - W / 2, y - H / 2), W, H,
                                    boxstyle="round,pad=0.01,rounding_size=0.03",
                                    facecolor="#eef3fb", edgecolor="#3b6bb5", lw=1.2))
        ax.text(x, y + 0.07, title, ha="center", va="center", fontsize=11, weight="bold")
        ax.text(x, y - 0.08, detail, ha="center", va="center", fontsize=8.5)
    for a, b in ARROWS:
        (xa, ya), (xb, yb) = BOXES[a][:2], BOXES[b][:2]
        if ya == yb:  # along a row: from edge to edge
            sign = 1 if xb > xa else -1
            start, end = (xa + sign * W / 2, ya), (xb - sign * W / 2, yb)
        else:  # between the rows
            sign = 1 if yb > ya else -1
            start, end = (xa, ya + sign * H / 2), (xb, yb - sign * H / 2)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                     color="#3b6bb5", lw=1.4))
    ax.text(0.5, 0.47, "the co-design loop: repeat until the circuit is within the task's "
            "target of the digital model", ha="center", va="center", fontsize=9,
            style="italic", color="#555555")
    ax.set(xlim=(-0.02, 1.02), ylim=(0.0, 0.94))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(f"wrote {draw()}")
    sys.exit(0)
