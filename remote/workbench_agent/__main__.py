"""Command line of the agent.

    python -m workbench_agent run JOB.json     run a job file ("-" or nothing: the job on stdin)
    python -m workbench_agent probe            print this device's info as one JSON object
    python -m workbench_agent version          print the agent version
"""

import sys

from workbench_agent.command import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
