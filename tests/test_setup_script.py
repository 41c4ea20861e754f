"""The autograder zip's setup.sh, run with stand-ins for apt-get and python3 that record their
calls: it refreshes the package lists before installing anything, installs bubblewrap where
it is missing, and says so when it could not."""

import io
import shutil
import subprocess
import zipfile

import pytest

from autograder.release import package

APT_GET = """#!/bin/bash
echo "apt-get $*" >> "$LOG"
case "$1" in
    update) touch "$STATE/lists" ;;
    install)
        [ -e "$STATE/lists" ] || { echo "E: Unable to locate package" >&2; exit 100; }
        [ -e "$STATE/refuse" ] && exit 100
        for package in "$@"; do
            case "$package" in
                bubblewrap) printf '#!/bin/bash\\n' > "$STUBS/bwrap"; chmod +x "$STUBS/bwrap" ;;
                python3-venv) touch "$STATE/venv" ;;
            esac
        done ;;
esac
"""
PYTHON3 = """#!/bin/bash
echo "python3 $*" >> "$LOG"
case "$1 $2" in
    "-c import ensurepip"*) [ -e "$STATE/venv" ]; exit ;;
    "-m venv")
        mkdir -p "$3/bin"
        printf '#!/bin/bash\\necho "pip $*" >> "$LOG"\\n' > "$3/bin/pip"
        chmod +x "$3/bin/pip" ;;
esac
"""
TOOLS = ("chmod", "dirname", "mkdir", "touch", "cat")


@pytest.fixture
def image(tmp_path):
    """A bare image: stand-ins for apt-get and python3, and the few tools setup.sh uses."""
    stubs, tools, state = tmp_path / "stubs", tmp_path / "tools", tmp_path / "state"
    for folder in (stubs, tools, state):
        folder.mkdir()
    for name, script in (("apt-get", APT_GET), ("python3", PYTHON3)):
        (stubs / name).write_text(script)
        (stubs / name).chmod(0o755)
    for tool in TOOLS:
        (tools / tool).symlink_to(shutil.which(tool))
    script = tmp_path / "setup.sh"
    script.write_text(package.rendered("setup.sh"))
    log = tmp_path / "calls.log"

    def run(*, venv: bool = True, bwrap: bool = False, refuse: bool = False, apt: bool = True):
        for flag, wanted in (("venv", venv), ("refuse", refuse)):
            if wanted:
                (state / flag).touch()
        if bwrap:
            (stubs / "bwrap").write_text("#!/bin/bash\n")
            (stubs / "bwrap").chmod(0o755)
        if not apt:
            (stubs / "apt-get").unlink()
        env = {
            "PATH": f"{stubs}:{tools}",
            "LOG": str(log),
            "STATE": str(state),
            "STUBS": str(stubs),
            "DISC05_VENV": str(tmp_path / "opt" / "venv"),
            "DISC05_SOURCE": str(tmp_path),
        }
        done = subprocess.run(
            ["/bin/bash", str(script)], env=env, capture_output=True, text=True, timeout=60
        )
        calls = log.read_text().splitlines() if log.exists() else []
        apt_calls = [c for c in calls if c.startswith("apt-get")]
        return done, apt_calls, calls, (stubs / "bwrap").exists()

    return run


def test_empty_package_lists_are_refreshed_before_bubblewrap_is_installed(image):
    done, apt, calls, bwrap = image(venv=True, bwrap=False)
    assert done.returncode == 0, done.stderr
    assert apt == [
        "apt-get update",
        "apt-get install -y --no-install-recommends bubblewrap",
    ]
    assert bwrap and "could not" not in done.stderr
    assert any(c.startswith("pip install --no-cache-dir --requirement") for c in calls)


def test_without_python3_venv_the_lists_are_refreshed_once_before_both_installs(image):
    done, apt, _, bwrap = image(venv=False, bwrap=False)
    assert done.returncode == 0, done.stderr
    assert apt == [
        "apt-get update",
        "apt-get install -y --no-install-recommends python3 python3-venv",
        "apt-get install -y --no-install-recommends bubblewrap",
    ]
    assert bwrap


def test_an_image_that_has_both_installs_nothing_with_apt(image):
    done, apt, calls, _ = image(venv=True, bwrap=True)
    assert done.returncode == 0, done.stderr
    assert apt == [] and any(c.startswith("pip install") for c in calls)


@pytest.mark.parametrize("apt", [True, False], ids=["apt refuses", "no apt"])
def test_bubblewrap_that_cannot_be_installed_is_said_and_setup_goes_on(image, apt):
    done, calls, all_calls, bwrap = image(venv=True, bwrap=False, refuse=True, apt=apt)
    assert done.returncode == 0, done.stderr
    assert not bwrap
    assert "bubblewrap could not be installed" in done.stderr
    assert "fallback isolation" in done.stderr
    if apt:
        assert calls[0] == "apt-get update"
    assert any(c.startswith("pip install") for c in all_calls)


def test_the_script_in_the_zip_is_the_one_tested(test_files):
    with zipfile.ZipFile(io.BytesIO(package.autograder_zip(test_files))) as archive:
        assert archive.read("setup.sh").decode() == package.rendered("setup.sh")
