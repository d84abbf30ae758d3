"""Suite-wide fixtures: every AWS call goes to a moto server on loopback, never to AWS."""

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.slack",
    "tests.fixtures.bakery",
]
