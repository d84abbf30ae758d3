"""Suite-wide fixtures: every AWS call goes to a moto server on loopback, never to AWS.

Property-based tests (hypothesis) run a bounded number of examples each, so `make test` stays fast;
HYPOTHESIS_PROFILE=deep tries many more when hunting for a bug.
"""

import os

from hypothesis import settings

settings.register_profile("bakery", max_examples=150, deadline=None)
settings.register_profile("deep", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bakery"))

pytest_plugins = [
    # `--dist loadgroup` keeping each xdist_group on one worker under pytest 9.2 (pytest-xdist#1386).
    "tests.fixtures.xdist_groups",
    "tests.fixtures.aws",
    "tests.fixtures.slack",
    "tests.fixtures.bakery",
    "tests.fixtures.ec2",
    "tests.fixtures.socket_mode",
    # Installs LocalStack in the background once tests/infra/test_localstack.py is collected, and runs it last.
    "tests.infra.localstack",
    # Under pytest -n: one LocalStack for the session, started by the controller, not one per worker.
    "tests.infra.localstack_xdist",
]
