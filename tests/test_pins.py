"""autograder/constraints.txt pins the whole grading environment for CPython 3.10-3.13, agrees with
the dev environment's pins, and ships in the zip where setup.sh installs with it.

Offline: these read the files and the running environment, never the package index
(`python -m tools.lock --check` is the network-using check that the pins are still pip's answer).
"""
import importlib.metadata
import re
import sys
import zipfile
from itertools import combinations
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from engine.build import build
from tools.lock import environment, marker, walk

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "autograder" / "requirements.txt"
LOCK = ROOT / "autograder" / "constraints.txt"
DEV_PINS = ROOT / "constraints.txt"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
PIN_LINE = re.compile(r"([a-z0-9]+(?:-[a-z0-9]+)*)==([0-9][0-9A-Za-z.+!]*)(?:; (.+))?")
VERSION_CLAUSE = re.compile(r'python_version (?:<=|>=|==|!=|<|>) "3\.\d+"')


def lines(path: Path) -> list[str]:
    """The requirement lines of `path`, comments and blank lines left out."""
    text = path.read_text(encoding="utf-8")
    return [line for line in (raw.split("#", 1)[0].strip() for raw in text.splitlines()) if line]


def holds(req: Requirement, python: str | None = None, extras=()) -> bool:
    """Whether `req`'s marker holds on CPython `python` (default: this interpreter), with no
    extra or one of `extras` requested."""
    env = {} if python is None else {"python_version": python, "python_full_version": f"{python}.0"}
    return req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in ("", *extras))


def pins(path: Path, python: str | None = None) -> dict[str, list[str]]:
    """Canonical name -> the versions pinned by the lines of `path` that hold on `python`."""
    found = {}
    for req in map(Requirement, lines(path)):
        if holds(req, python):
            found.setdefault(canonicalize_name(req.name), []).append(str(req.specifier)[2:])
    return found


def installed_closure() -> dict[str, str]:
    """Canonical name -> installed version of every distribution that autograder/requirements.txt
    needs here (markers evaluated for this interpreter, extras only where requested)."""
    versions, seen = {}, set()
    todo = [req for req in map(Requirement, lines(REQUIREMENTS)) if holds(req)]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if (name, frozenset(req.extras)) not in seen:
            seen.add((name, frozenset(req.extras)))
            dist = importlib.metadata.distribution(name)
            versions[name] = dist.version
            todo += [dep for dep in map(Requirement, dist.requires or ()) if holds(dep, None, req.extras)]
    return versions


@pytest.mark.skipif(RUNNING not in PYTHONS, reason=f"the pins cover CPython {', '.join(PYTHONS)}")
def test_the_pins_are_what_this_interpreter_installed():
    installed, pinned = installed_closure(), pins(LOCK)
    assert {name: pinned.get(name) for name in installed} == \
        {name: [version] for name, version in installed.items()}
    assert not pinned.keys() - installed.keys(), "pins of packages the grading environment lacks here"


def test_every_pin_is_a_normalised_name_an_exact_version_and_a_python_version_marker():
    for line in lines(LOCK):
        match = PIN_LINE.fullmatch(line)
        assert match, f"not `name==version[; marker]` with a normalised name: {line!r}"
        if match[3]:
            Marker(match[3])  # parses
            rest = VERSION_CLAUSE.sub("", match[3])
            assert re.fullmatch(r"[\s()]*(?:(?:and|or)[\s()]+)*", rest), f"not python_version: {line!r}"


@pytest.mark.parametrize("python", PYTHONS)
def test_each_python_has_one_pin_per_package_and_requirement(python):
    pinned = pins(LOCK, python)
    assert {name: found for name, found in pinned.items() if len(found) > 1} == {}
    for req in map(Requirement, lines(REQUIREMENTS)):
        if holds(req, python):
            found = pinned.get(canonicalize_name(req.name), [])
            assert len(found) == 1 and req.specifier.contains(found[0], prereleases=True), (req, found)


@pytest.mark.parametrize("python", PYTHONS)
def test_the_dev_environment_pins_what_gradescope_installs(python):
    ours, dev = pins(LOCK, python), pins(DEV_PINS, python)
    assert {name: (ours[name], dev[name]) for name in ours.keys() & dev.keys()
            if ours[name] != dev[name]} == {}


def test_the_zip_ships_the_pins_and_setup_installs_with_them(tmp_path):
    build(ROOT / "autograder" / "suite", tmp_path / "autograder.zip")
    with zipfile.ZipFile(tmp_path / "autograder.zip") as zf:
        assert zf.read("constraints.txt") == LOCK.read_bytes()
        setup = zf.read("setup.sh").decode()
    commands = setup.replace("\\\n", " ").splitlines()
    installs = [line for line in commands if "-m pip install" in line and not line.startswith("#")]
    assert len(installs) == 1
    assert '-r "$SOURCE/requirements.txt"' in installs[0] and '-c "$SOURCE/constraints.txt"' in installs[0]


def test_lock_markers_hold_exactly_for_their_pythons():
    for count in range(1, len(PYTHONS) + 1):
        for chosen in combinations(PYTHONS, count):
            text = marker(list(chosen))
            assert [p for p in PYTHONS if not text or Marker(text).evaluate(environment(p))] == list(chosen)


def test_lock_evaluates_dependency_markers_for_the_target_python():
    """pip evaluates markers for the interpreter running it: walk() finds what pip skipped for the
    target (to resolve again) and leaves out what pip took for the running interpreter only."""
    found = {"pytest": {"version": "8.4.2", "requires_dist": [
                 'exceptiongroup>=1; python_version < "3.11"', "iniconfig>=1",
                 'colorama>=0.4; sys_platform == "win32"', 'hypothesis>=3.56; extra == "dev"']},
             "iniconfig": {"version": "2.3.1"}, "exceptiongroup": {"version": "1.3.2"}}
    top = [Requirement("pytest==8.4.2")]
    assert walk(top, found, environment("3.11")) == ({"pytest": "8.4.2", "iniconfig": "2.3.1"}, [])
    del found["exceptiongroup"]
    assert walk(top, found, environment("3.10")) == ({"pytest": "8.4.2", "iniconfig": "2.3.1"},
                                                     ["exceptiongroup>=1"])
