"""Views: how profiles and comparisons show themselves to people.

The data side (:mod:`workbench.profiling`) builds documents and never draws;
these modules render them, and hold no numbers of their own:

* :mod:`~workbench.views.summary`: a profile's text summary;
* :mod:`~workbench.views.profile`: a profile's HTML report and notebook bundle;
* :mod:`~workbench.views.layers`: the per-layer table both of those show;
* :mod:`~workbench.views.delegation`: where the model's nodes ran;
* :mod:`~workbench.views.comparison`: several profiles side by side;
* :mod:`~workbench.views.parts`: the HTML pieces they share.

``Profile`` and ``Comparison`` import these on first display, so importing
the data side stays free of them. Figures come from :mod:`workbench.plots`.
"""
