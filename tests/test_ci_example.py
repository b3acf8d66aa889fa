"""docs/ci-example.yml: the GitHub Actions job users copy. Its own commands run here, as written, over the seeds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, SEEDS

pytestmark = pytest.mark.slow

WORKFLOW = REPO / "docs" / "ci-example.yml"


def steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["answers"]["steps"]


def test_the_install_step_pins_the_cpu_torch_and_installs_docqa():
    install = next(s for s in steps() if s.get("id") == "install")["run"]
    assert 'torch==2.13.0' in install and "download.pytorch.org/whl/cpu" in install
    assert "docqa @ git+" in install


def test_the_workflow_steps_after_install_pass_on_the_seeds_suite(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(SEEDS, project / "docs")
    (project / "tests").mkdir()
    suite = (REPO / "docs" / "seeds.docqa.yaml").read_text(encoding="utf-8")
    (project / "tests" / "answers.docqa.yaml").write_text(suite, encoding="utf-8")
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    summary = tmp_path / "step-summary.md"
    env = {**os.environ, **{k: str(v) for k, v in workflow["env"].items()},
           "GITHUB_STEP_SUMMARY": str(summary), "HOME": str(tmp_path / "user"), "DOCQA_HOME": str(tmp_path / "cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTEST_ADDOPTS", None)
    names = []
    after_install = False
    for step in steps():
        if step.get("id") == "install":
            after_install = True
            continue
        if not after_install or "run" not in step:
            continue
        ran = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=project, env=env,
                             capture_output=True, text=True, timeout=900)
        assert ran.returncode == 0, f"step {step['name']!r} failed:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
        names.append(step["name"])
    assert names == ["Index the documents", "Run the suite (one test per question)", "Job summary"]
    report = ET.parse(project / "docqa-report.xml").getroot()
    cases = list(report.iter("testcase"))
    assert len(cases) == 5 and not any(c.find("failure") is not None or c.find("error") is not None for c in cases)
    assert summary.read_text(encoding="utf-8").startswith("## \u2705 docqa eval: 5/5 turns passed")
