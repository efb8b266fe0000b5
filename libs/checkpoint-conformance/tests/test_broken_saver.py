"""A user-style custom saver with deliberate bugs: the report must name them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple, config_location
from langgraph.checkpoint.conformance import Capability, checkpointer_test, validate


class ToySaver(BaseCheckpointSaver):
    """Keeps tuples in a list. Bugs: ignores `before`, forgets parents,
    reverses pending writes; implements no extended method."""

    def __init__(self):
        super().__init__()
        self.rows = []
        self.writes = {}

    def get_next_version(self, current, channel):
        return (current or 0) + 1

    async def aput(self, config, checkpoint, metadata, new_versions):
        thread_id, ns, _ = config_location(config)
        conf = {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint["id"],
            }
        }
        self.rows = [r for r in self.rows if r[0] != conf]
        self.rows.append((conf, checkpoint, dict(metadata)))
        return conf

    async def aput_writes(self, config, writes, task_id, task_path=""):
        key = config["configurable"]["checkpoint_id"]
        self.writes.setdefault(key, []).extend((task_id, c, v) for c, v in writes)

    def _tuple(self, row):
        conf, checkpoint, metadata = row
        writes = list(reversed(self.writes.get(conf["configurable"]["checkpoint_id"], [])))
        return CheckpointTuple(conf, checkpoint, metadata, None, writes)

    async def aget_tuple(self, config):
        thread_id, ns, checkpoint_id = config_location(config)
        rows = [
            r
            for r in self.rows
            if r[0]["configurable"]["thread_id"] == thread_id
            and r[0]["configurable"]["checkpoint_ns"] == ns
            and (checkpoint_id is None or r[0]["configurable"]["checkpoint_id"] == checkpoint_id)
        ]
        return self._tuple(max(rows, key=lambda r: r[1]["id"])) if rows else None

    async def alist(self, config, *, filter=None, before=None, limit=None):
        rows = sorted(self.rows, key=lambda r: r[1]["id"], reverse=True)
        if config is not None:
            rows = [
                r
                for r in rows
                if r[0]["configurable"]["thread_id"] == config["configurable"]["thread_id"]
            ]
        rows = [r for r in rows if all(r[2].get(k) == v for k, v in (filter or {}).items())]
        for row in rows[:limit]:
            yield self._tuple(row)

    async def adelete_thread(self, thread_id):
        self.rows = [r for r in self.rows if r[0]["configurable"]["thread_id"] != thread_id]


@checkpointer_test(name="ToySaver")
async def toy_saver():
    yield ToySaver()


async def test_report_names_the_failures():
    report = await validate(toy_saver)
    put = report.results[Capability.PUT.value]
    assert not put.passed
    assert any("parent_is_config_checkpoint" in f for f in put.failures)
    writes = report.results[Capability.PUT_WRITES.value]
    assert any("pending_writes_order" in f for f in writes.failures)
    listing = report.results[Capability.LIST.value]
    assert any("limit_and_before" in f for f in listing.failures)
    for capability in ("delete_for_runs", "copy_thread", "prune", "delta_channel_history"):
        assert report.results[capability].detected is False
        assert report.to_dict()["capabilities"][capability]["status"] == "not implemented"
    assert report.passed_all_base() is False
    assert report.conformance_level() == "none"
    json.loads(report.to_json())


def test_command_line_exits_non_zero_and_prints_json(tmp_path):
    module = tmp_path / "toy_module.py"
    module.write_text(
        textwrap.dedent(
            """
        from langgraph.checkpoint.memory import InMemorySaver
        async def good():
            yield InMemorySaver()
        """
        )
    )
    ok = subprocess.run(
        [sys.executable, "-m", "langgraph.checkpoint.conformance", "toy_module:good", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["conformance_level"] == "full"
    module.write_text(
        module.read_text()
        + textwrap.dedent(
            """
        from langgraph.checkpoint.base import BaseCheckpointSaver
        async def empty():
            yield BaseCheckpointSaver()
        """
        )
    )
    bad = subprocess.run(
        [sys.executable, "-m", "langgraph.checkpoint.conformance", "toy_module:empty"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert bad.returncode == 1
    assert "FAILED" in bad.stdout and "put" in bad.stdout


def test_pytest_option_runs_one_test_per_case(tmp_path):
    (tmp_path / "toy_factory.py").write_text(
        "from langgraph.checkpoint.memory import InMemorySaver\n"
        "async def saver():\n    yield InMemorySaver()\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--checkpointer",
            "toy_factory:saver",
            "--rootdir",
            str(tmp_path),
            "-o",
            "addopts=",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    from langgraph.checkpoint.conformance.pytest_plugin import conformance_ids

    assert f"{len(conformance_ids())} passed" in result.stdout
