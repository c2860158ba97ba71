"""The Edge Workbench agent: runs one job on a device and reports in JSON lines.

Runs on the board with the standard library, numpy and a runtime (Python 3.8+).
The host imports the same package for the local device and ships its files to
boards. Nothing here imports ``workbench``.
"""

__version__ = "0.1.0"

#: The event-stream format the agent writes (see workbench/formats/schemas/events-2.json).
EVENTS_SCHEMA = "workbench.events/2"
#: The runner API the agent offers to runner modules: 2 adds ``intermediates(job, ctx)``.
RUNNER_API = 2
#: Every runner API the agent still loads (a version 1 runner cannot expose intermediates).
RUNNER_APIS = (1, 2)
