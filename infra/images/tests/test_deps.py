"""Each image installs what its code imports and nothing it must not; its lock is current."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import deps  # noqa: E402  (infra/images/deps.py, a script)


@pytest.fixture(scope="module")
def local():
    return deps.local_projects()


@pytest.mark.parametrize("image", deps.IMAGES, ids=lambda image: image.name)
def test_the_image_declares_what_it_imports_and_its_lock_is_current(image, local):
    problems, lock = deps.check(image, local)
    assert problems == []
    path = deps.LOCKS / f"{image.name}.txt"
    assert path.read_text() == lock, f"run infra/images/deps.py --write: {path.name} is out of date"


def test_an_api_image_never_carries_torch_and_the_worker_never_a_web_framework(local):
    for image in deps.IMAGES:
        pinned = {line.split("==")[0] for line in (deps.LOCKS / f"{image.name}.txt").read_text().splitlines()
                  if "==" in line and not line.startswith("#")}
        assert not pinned & set(deps.TEST_TOOLS), image.name
        if image.name == "inference":
            assert "torch" in pinned and not pinned & {"django", "fastapi", "starlette"}
        else:
            assert "torch" not in pinned, image.name


def test_an_undeclared_import_is_found_also_inside_a_function_and_through_a_shared_module(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(
        "import json\n"
        "from . import helpers\n"
        "from atelier_storage import s3\n"  # reaches boto3 inside a function of the shared module
        "def later():\n    import yaml\n"
        "try:\n    import uvloop\nexcept ImportError:\n    uvloop = None\n")
    (tmp_path / "app" / "helpers.py").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_views.py").write_text("import pytest\n")
    found = deps.imported_distributions(tmp_path)
    assert {"boto3", "pyyaml", "atelier-storage"} <= set(found)
    assert "uvloop" not in found and "pytest" not in found  # optional; tests are not the image


def test_extras_and_markers_are_followed(local):
    with_s3 = deps.closure(["atelier-storage[s3]"], local)
    assert {"atelier-storage", "boto3", "botocore", "s3transfer"} <= with_s3
    assert "boto3" not in deps.closure(["atelier-storage"], local)
