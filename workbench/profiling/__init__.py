"""Profiles: the result of a job, its statistics, comparisons and exporters.

* :class:`Profile`: one ``workbench.profile/2`` document, with load/save,
  DataFrame, CSV, Chrome trace, HTML and notebook views;
* :func:`summarize`: the profile's ``stats`` form of a list of samples;
* :func:`compare`: several profiles side by side, as a :class:`Comparison`
  (per-layer table, speed-ups over a baseline, layers won, notebook view);
* :func:`compare_latency`: their end-to-end latency in one table.

Importing this package is cheap: numpy, pandas and jsonschema load inside
the functions that need them, on first use. It holds data and never draws:
the text, HTML and notebook views are in :mod:`workbench.views`, figures in
:mod:`workbench.plots`, and a profile imports them only when it is shown.
"""

from __future__ import annotations

# Imported eagerly (they are light) so that the function ``compare`` and not
# the submodule of the same name is what ``workbench.profiling.compare`` means.
from workbench.profiling.compare import compare, compare_latency
from workbench.profiling.comparison import Comparison
from workbench.profiling.profile import Profile
from workbench.profiling.stats import summarize

__all__ = ["Comparison", "Profile", "compare", "compare_latency", "summarize"]
