import pytest


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marker into the node id (loadgroup)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the bundle tests share one worker: one wheelhouse download, one
    build of each bundle per session (session fixtures in test_bundle.py)."""
    if not any(line.startswith("xdist_group") for line in config.getini("markers")):
        return  # pytest-xdist not loaded (-p no:xdist): nothing to group
    for item in items:
        if "tests/deploy/test_bundle.py" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("deploy-bundle"))
