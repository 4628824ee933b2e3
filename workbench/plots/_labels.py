"""Value labels that never print over each other, measured with the renderer (shared by the charts)."""

from __future__ import annotations

__all__ = ["spread_labels"]


def spread_labels(ax, labels, *, axis="y", pad_pt=1.0, rounds=3):
    """Move value labels apart where their drawn extents overlap, measured with the renderer.

    ``labels`` are ``(Text, direction)`` pairs in priority order; a label that overlaps one placed
    before it moves along ``axis`` in its ``direction`` (+1 up/right, −1 down/left, away from the
    bar it labels) until it is clear.  The axis limits grow when a moved label would leave the
    axes, and the pass repeats, so labels never print over each other (``−0.2−0.2``).
    """
    fig = ax.figure
    for _ in range(rounds):
        renderer = fig.canvas.get_renderer()
        placed = []
        moved = False
        for txt, direction in labels:
            for _ in range(len(labels) + 1):
                bb = txt.get_window_extent(renderer)
                gap = 2.5 * fig.dpi / 72  # labels closer than this read as one ("−0.1−0.1")
                hit = next((o for o in placed if bb.padded(gap).overlaps(o)), None)
                if hit is None:
                    break
                pad = pad_pt * fig.dpi / 72
                if axis == "y":
                    shift = (hit.y1 - bb.y0 + pad) if direction > 0 else -(bb.y1 - hit.y0 + pad)
                    delta = (0.0, shift)
                else:
                    shift = (hit.x1 - bb.x0 + pad) if direction > 0 else -(bb.x1 - hit.x0 + pad)
                    delta = (shift, 0.0)
                x, y = txt.get_position()
                disp = ax.transData.transform((x, y))
                nx, ny = ax.transData.inverted().transform((disp[0] + delta[0], disp[1] + delta[1]))
                txt.set_position((x, ny) if axis == "y" else (nx, y))
                moved = True
            placed.append(txt.get_window_extent(renderer))
        if not moved:
            return
        # keep every label inside the axes: widen the limits (in data units) where one sticks out
        box = ax.get_window_extent(renderer)
        inv = ax.transData.inverted()
        lo, hi = (ax.get_ylim() if axis == "y" else ax.get_xlim())
        new_lo, new_hi = lo, hi
        for txt, _ in labels:
            bb = txt.get_window_extent(renderer)
            if axis == "y":
                if bb.y1 > box.y1:
                    new_hi = max(new_hi, inv.transform((0, bb.y1 + 2))[1])
                if bb.y0 < box.y0:
                    new_lo = min(new_lo, inv.transform((0, bb.y0 - 2))[1])
            else:
                if bb.x1 > box.x1:
                    new_hi = max(new_hi, inv.transform((bb.x1 + 2, 0))[0])
                if bb.x0 < box.x0:
                    new_lo = min(new_lo, inv.transform((bb.x0 - 2, 0))[0])
        if (new_lo, new_hi) == (lo, hi):
            return
        (ax.set_ylim if axis == "y" else ax.set_xlim)(new_lo, new_hi)
