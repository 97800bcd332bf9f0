"""Settings of the `qcluster` workers the fault tests start (`tests.e2e.worker`).

The test settings, with tracker import jobs polled every 50 ms instead of every second: the
simulators finish a job in 50 ms, and a transfer of 10,000 events through a proxy that makes
every batch split polls a few hundred jobs, which would otherwise spend minutes waiting.
"""

from config.settings_test import *  # noqa: F403

TRACKER_JOB_POLL_INTERVAL = 0.05
