"""The schemathesis run's size, in the terminal summary (how many requests it sent)."""

import sys


def pytest_terminal_summary(terminalreporter):
    module = sys.modules.get("tests.api.test_schemathesis")
    calls = getattr(module, "CALLS", None)
    if calls:
        listed = ", ".join(f"{n} as {who}" for who, n in sorted(calls.items()))
        terminalreporter.write_line(f"schemathesis: {sum(calls.values())} requests ({listed})")
