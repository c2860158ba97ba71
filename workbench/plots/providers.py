"""Where a model ran: its MACs' share per execution provider or delegate, per profile."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench.plots._figure import _axes, _tagged_label, _title
from workbench.plots.palette import op_colors
from workbench.profiling._text import shorten

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from workbench.profiling.profile import Profile


def delegation(profiles: Profile | Sequence[Profile], ax: Axes | None = None) -> Figure:
    """Share of the model's MACs per execution provider or delegate: one stacked bar per profile.

    CPU kernels are grey, nodes not seen are hatched; a model without MACs is
    shared by node count instead, and its bar says so.
    """
    from workbench.profiling.compare import unique_labels
    from workbench.profiling.delegation import UNSEEN_LABEL, is_cpu, shares

    many = list(profiles) if isinstance(profiles, Sequence) else [profiles]
    labels = unique_labels(many)
    fig, ax = _axes(ax, 9, 1.8 + 0.6 * max(len(many), 2))
    split = [shares(p.document.get("delegation")) for p in many]
    names = list(dict.fromkeys(name for found in split if found for name, _ in found[0]))
    accelerators = [n for n in names if n != UNSEEN_LABEL and not is_cpu(n)]
    colors = {**op_colors(accelerators), UNSEEN_LABEL: "#eeeeee"}
    greys = ["#7f7f7f", "#a5a5a5", "#5f5f5f"]
    for index, name in enumerate(n for n in names if n != UNSEEN_LABEL and is_cpu(n)):
        colors[name] = greys[index % len(greys)]
    drawn: set[str] = set()
    ticks = []
    for y, (profile, label, found) in enumerate(zip(many, labels, split, strict=True)):
        tick = _tagged_label(profile, label) if len(many) > 1 else ""
        if found is None:
            ax.text(1, y, "no delegation data", va="center", fontsize="small", color="grey")
            ticks.append(tick)
            continue
        left = 0.0
        for name, share in found[0]:
            if share <= 0:
                continue
            unseen = name == UNSEEN_LABEL
            ax.barh(y, 100 * share, left=left, height=0.6, color=colors[name],
                    edgecolor="#999999" if unseen else "white", hatch="//" if unseen else None,
                    label=None if name in drawn else name)
            drawn.add(name)
            if share >= 0.08:
                ax.text(left + 50 * share, y, f"{100 * share:.0f} %", ha="center",
                        va="center", fontsize="x-small")
            left += 100 * share
        ticks.append(tick + ("\n(share of nodes: no MACs)" if found[1] == "nodes" else ""))
    ax.set_yticks(range(len(many)), [textwrap.fill(shorten(t, 60), 30) for t in ticks],
                  fontsize="small")
    ax.set_ylim(len(many) - 0.5, -0.5)  # first profile on top
    ax.set_xlim(0, 100)
    if drawn:
        ax.legend(title="provider / delegate", fontsize="small", loc="upper center",
                  bbox_to_anchor=(0.5, -0.25), ncol=min(4, len(drawn)))
    ax.set_title(_title("Share of MACs per provider or delegate", many))
    ax.set_xlabel("share of the model's MACs (%)")
    ax.set_ylabel("profile")
    fig.tight_layout()
    return fig
