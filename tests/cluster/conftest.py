"""The cluster, started once for the session (tests/cluster/harness.py).

Every test here carries the ``cluster`` marker: ``make test`` leaves them out,
``make test-cluster`` (and CI) runs them. A test that breaks something (kills an
instance, stops PostgreSQL or Redis) puts it back before it ends, so the order
of the tests doesn't matter. On a failure the logs of every process are attached
to the report.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster, MissingBinary

IN_CI = os.environ.get("CI", "").lower() == "true"
_HERE = Path(__file__).parent
_started: list[Cluster] = []


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="backroom-cluster-"))
    running = Cluster(root)
    _started.append(running)
    try:
        running.start()
    except MissingBinary as exc:
        running.stop()
        if IN_CI:
            pytest.fail(f"CI must install {exc} (.ci/run does)")
        pytest.skip(f"not installed: {exc}")
    except BaseException:
        print(running.logs())
        running.stop()
        raise
    yield running
    running.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and _started:
        report.sections.append(("cluster logs", _started[-1].logs()))
    return report
