"""The Lambda layer and function builds, made the way `sam build` makes them, fit the runtime
template.yaml declares.

`sam build` with ``BuildMethod: makefile`` copies the resource's source folder (ContentUri,
or Metadata.ProjectRootDirectory) into a scratch folder, leaving out only ``.aws-sam`` and
``.git``, and runs ``make --makefile <ContextPath>/Makefile build-<LogicalId>`` there with
ARTIFACTS_DIR set (aws-lambda-builders, workflows/custom_make/workflow.py and actions.py;
SAM CLI, lib/build/app_builder.py). The fixtures below do exactly that, once per session.

What a built layer must be (AWS documentation):
* Lambda loads a layer's Python code from ``/opt/python`` ("Working with layers for Python
  Lambda functions"); the python3.12+ runtimes run on Amazon Linux 2023 ("Lambda
  runtimes"), glibc 2.34, so a wheel may need at most manylinux_2_34.
* An extension module is loadable only on its own architecture and CPython ABI: the ELF
  header's e_machine (x86_64 = 62, aarch64 = 183) and the file name's ``cpython-3XY`` or
  ``abi3`` tag (PEP 3149, PEP 384).
* Lambda quotas (API reference, AccountLimit): CodeSizeUnzipped, "the maximum size of a
  function's deployment package and layers when they're extracted", is 250 MB.
  CodeSizeZipped (50 MB) applies only to a package "uploaded directly to Lambda. Use Amazon
  S3 for larger files": `sam deploy` uploads the layer to S3, so it does not apply here
  (the zipped layer is about 50 MB; docs/PERFORMANCE.md).
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpdesk_local.cfn import load_template, resources_of_type

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
LAYER_ID = "HelpdeskLayer"
# Lambda counts its quotas in MiB: GetAccountSettings answers CodeSizeUnzipped 262144000.
MB = 1024 * 1024
# Lambda quotas: a function's unzipped code and layers together.
UNZIPPED_LIMIT_MB = 250
# aws-lambda-builders' custom_make workflow: CopySourceAction(..., excludes=EXCLUDED_FILES).
SAM_EXCLUDED = (".aws-sam", ".git")
ELF_MACHINES = {"x86_64": 62, "arm64": 183}
ELF_TRIPLETS = {"x86_64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
AL2023_GLIBC = (2, 34)
PLATFORM_TAG = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$|^manylinux(1|2010|2014)_(\w+)$")
LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}
MACHINE_OF_TAG = {"x86_64": "x86_64", "aarch64": "arm64"}


# ---------------------------------------------------------------------------- the template
def declared_runtime() -> str:
    runtime = TEMPLATE["Globals"]["Function"]["Runtime"]
    assert isinstance(runtime, str)
    return runtime


def declared_architecture() -> str:
    (architecture,) = TEMPLATE["Globals"]["Function"]["Architectures"]
    assert isinstance(architecture, str)
    return architecture


def python_tag() -> str:
    major, minor = declared_runtime().removeprefix("python").split(".")
    return f"{major}{minor}"


def layer_resource() -> dict[str, Any]:
    resource = TEMPLATE["Resources"][LAYER_ID]
    assert isinstance(resource, dict)
    return resource


def sam_source_dir(properties: dict[str, Any], metadata: dict[str, Any], uri_key: str) -> Path:
    return (ROOT / str(metadata.get("ProjectRootDirectory", properties[uri_key]))).resolve()


def sam_makefile(metadata: dict[str, Any], source: Path) -> Path:
    context = metadata.get("ContextPath")
    return (ROOT / str(context)).resolve() / "Makefile" if context else source / "Makefile"


def copy_as_sam_does(source: Path, scratch: Path) -> None:
    shutil.copytree(source, scratch, ignore=shutil.ignore_patterns(*SAM_EXCLUDED), symlinks=True)


def run_make_as_sam_does(logical_id: str, uri_key: str, scratch: Path, artifacts: Path) -> None:
    resource = TEMPLATE["Resources"][logical_id]
    metadata = resource.get("Metadata", {})
    assert metadata.get("BuildMethod") == "makefile", logical_id
    source = sam_source_dir(resource["Properties"], metadata, uri_key)
    copy_as_sam_does(source, scratch)
    working = metadata.get("WorkingDirectory")
    cwd = (ROOT / str(working)).resolve() if working else scratch
    artifacts.mkdir(parents=True, exist_ok=True)
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIRTUAL_ENV", "PYTHON", "PYTEST"))
    }
    subprocess.run(
        ["make", "--makefile", str(sam_makefile(metadata, source)), f"build-{logical_id}"],
        cwd=cwd,
        env={**environment, "ARTIFACTS_DIR": str(artifacts)},
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )


def runtime_interpreter() -> str | None:
    answer = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "lambda_build.py"), "runtime-python"],
        capture_output=True,
        text=True,
        check=False,
    )
    return answer.stdout.strip() or None


# ---------------------------------------------------------------------------- the builds
@dataclass(frozen=True)
class Build:
    artifacts: Path

    @property
    def site(self) -> Path:
        return self.artifacts / "python"


def built_once(factory: pytest.TempPathFactory, logical_id: str, uri_key: str) -> Path:
    """The artifacts of one resource, built once per test session even when pytest-xdist
    spreads this file over several workers (they share the parent of their temp folders)."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    base, done = root / f"sam-{logical_id}", root / f"sam-{logical_id}.done"
    with (root / f"sam-{logical_id}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(base, ignore_errors=True)
            run_make_as_sam_does(logical_id, uri_key, base / "scratch", base / "artifacts")
            done.touch()
    return base / "artifacts"


@pytest.fixture(scope="session")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return Build(built_once(tmp_path_factory, LAYER_ID, "ContentUri"))


@pytest.fixture(scope="session")
def functions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        logical_id: built_once(tmp_path_factory, logical_id, "CodeUri")
        for logical_id in resources_of_type(TEMPLATE, "AWS::Serverless::Function")
    }


def elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    byte_order = "<" if header[5] == 1 else ">"
    (machine,) = struct.unpack(byte_order + "H", header[18:20])
    return int(machine)


def shared_objects(site: Path) -> Iterator[Path]:
    yield from (path for path in site.rglob("*") if path.is_file() and ".so" in path.suffixes)


def wheel_tags(site: Path) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for wheel in site.glob("*.dist-info/WHEEL"):
        lines = wheel.read_text(encoding="utf-8").splitlines()
        tags[wheel.parent.name] = [
            line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")
        ]
    return tags


def read_pins(path: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line, read by PyPA's own parser (the
    build has a small one of its own, so that it needs nothing outside the standard library:
    this checks it from the outside)."""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            [pin] = requirement.specifier
            pins[canonicalize_name(requirement.name)] = pin.version
    return pins


def installed(site: Path) -> dict[str, str]:
    """``name -> version`` of every distribution in ``site``, as importlib.metadata reads it."""
    return {
        canonicalize_name(distribution.metadata["Name"]): distribution.version
        for distribution in importlib.metadata.distributions(path=[str(site)])
    }


def tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# ---------------------------------------------------------------------------- the template
def test_the_layer_and_the_functions_declare_one_runtime_and_architecture() -> None:
    layer_properties = layer_resource()["Properties"]
    assert layer_properties["CompatibleRuntimes"] == [declared_runtime()]
    assert layer_properties["CompatibleArchitectures"] == [declared_architecture()]
    assert layer_resource()["Metadata"]["BuildArchitecture"] == declared_architecture()
    for logical_id, function in resources_of_type(TEMPLATE, "AWS::Serverless::Function").items():
        properties = function["Properties"]
        assert properties.get("Runtime", declared_runtime()) == declared_runtime(), logical_id
        assert properties.get("Architectures", [declared_architecture()]) == [
            declared_architecture()
        ], logical_id


def test_the_folder_sam_copies_for_the_layer_holds_nothing_of_the_developers_environment() -> None:
    resource = layer_resource()
    source = sam_source_dir(resource["Properties"], resource["Metadata"], "ContentUri")
    copied = [
        path
        for path in source.rglob("*")
        if not any(part in SAM_EXCLUDED for part in path.relative_to(source).parts)
    ]
    environments = sorted(
        {str(p.relative_to(source)) for p in copied if p.name in {".venv", "venv", "node_modules"}}
    )
    assert environments == []
    assert len(copied) < 1_000, f"sam build would copy {len(copied)} files"


# ---------------------------------------------------------------------------- the layer
def test_every_compiled_extension_matches_the_declared_architecture_and_python(
    layer: Build,
) -> None:
    architecture, tag = declared_architecture(), python_tag()
    wrong: list[str] = []
    extensions = 0
    for path in shared_objects(layer.site):
        name = str(path.relative_to(layer.site))
        if elf_machine(path) != ELF_MACHINES[architecture]:
            wrong.append(f"{name}: not an ELF object for {architecture}")
        if ".cpython-" in path.name:
            extensions += 1
            if not path.name.endswith(f".cpython-{tag}-{ELF_TRIPLETS[architecture]}.so"):
                wrong.append(f"{name}: not for CPython {tag} on {architecture}")
        elif path.name.endswith(".abi3.so"):
            extensions += 1
    assert extensions > 0, "no compiled extension at all: the check would prove nothing"
    assert wrong == []


def test_every_installed_wheel_is_tagged_for_the_runtimes_python_and_platform(
    layer: Build,
) -> None:
    architecture, tag = declared_architecture(), python_tag()
    # cp313-cp313, or a stable-ABI wheel for any CPython 3.x up to the runtime's.
    abis = {(f"cp{tag}", f"cp{tag}")} | {(f"cp3{m}", "abi3") for m in range(2, int(tag[1:]) + 1)}

    def fits(wheel_tag: str) -> bool:
        python, abi, platform = wheel_tag.split("-")
        if platform == "any":
            return python in {"py3", f"cp{tag}"} and abi == "none"
        match = PLATFORM_TAG.match(platform)
        if match is None:
            return False
        glibc = (int(match[1]), int(match[2])) if match[1] else LEGACY_GLIBC[match[4]]
        return (
            glibc <= AL2023_GLIBC
            and MACHINE_OF_TAG.get(match[3] or match[5]) == architecture
            and (python, abi) in abis
        )

    # A wheel lists every tag it supports (py2-none-any and py3-none-any, say): one must fit.
    tags = wheel_tags(layer.site)
    assert tags, "no wheel metadata: pip did not install into the layer"
    assert {dist: wheel for dist, wheel in tags.items() if not any(map(fits, wheel))} == {}


def test_every_package_in_the_layer_is_the_locked_version(layer: Build) -> None:
    lock = read_pins(ROOT / "constraints.txt")
    layer_pins = read_pins(ROOT / "layers" / "helpdesk" / "requirements.txt")
    present = installed(layer.site)

    assert {name: lock.get(name) for name in present} == present
    assert {name: present.get(name) for name in layer_pins} == layer_pins


def test_the_layer_holds_the_domain_package_and_its_config_without_stale_bytecode(
    layer: Build,
) -> None:
    package = ROOT / "layers" / "helpdesk" / "helpdesk"
    sources = {
        str(path.relative_to(package))
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    built = {
        str(path.relative_to(layer.site / "helpdesk"))
        for path in (layer.site / "helpdesk").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert built == sources | {"helpdesk.yaml", "knowledge.json"}
    assert (layer.site / "helpdesk" / "helpdesk.yaml").read_bytes() == (
        ROOT / "infra" / "helpdesk.yaml"
    ).read_bytes()
    foreign = sorted(
        str(path.relative_to(layer.site))
        for path in layer.site.rglob("*.pyc")
        if not path.name.endswith(f".cpython-{python_tag()}.pyc")
    )
    assert foreign == [], "bytecode of another Python is dead weight"


def test_the_layer_carries_babels_locale_data_for_the_configured_languages_only(
    layer: Build,
) -> None:
    from helpdesk.config import load_config

    config = load_config(ROOT / "infra" / "helpdesk.yaml")
    spoken = set(config.helpdesk.languages) | {"en"}
    spoken |= {language for agent in config.agents for language in config.languages_of(agent)}
    carried = {
        path.stem.split("_", 1)[0]
        for path in (layer.site / "babel" / "locale-data").glob("*.dat")
        if path.stem != "root"
    }
    assert carried == {language.split("-", 1)[0] for language in spoken}


def test_the_layer_and_the_largest_function_fit_lambdas_size_limits(
    layer: Build, functions: dict[str, Path]
) -> None:
    largest_function = max(tree_bytes(folder) for folder in functions.values())
    unzipped = tree_bytes(layer.artifacts) + largest_function
    assert unzipped < UNZIPPED_LIMIT_MB * MB, f"{unzipped / MB:.1f} MB unzipped"


def test_bytecode_in_the_layer_was_written_by_the_runtimes_python(layer: Build) -> None:
    interpreter = runtime_interpreter()
    compiled = list(layer.site.rglob("*.pyc"))
    if interpreter is None:
        assert compiled == [], "without the runtime's Python the build ships no bytecode"
        pytest.skip(f"no {declared_runtime()} interpreter on this machine to compare with")
    magic = subprocess.run(
        [
            interpreter,
            "-c",
            "import importlib.util as u, sys; sys.stdout.write(u.MAGIC_NUMBER.hex())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert compiled, "the runtime's Python is here, so the build ships its bytecode"
    assert {path.read_bytes()[:4].hex() for path in compiled} == {magic}


# PEP 552 and the importlib docs ("Cached bytecode invalidation"): the second 4-byte word of a
# .pyc is a bit field; 0 means timestamp-based, 0b01 hash-based unchecked, 0b11 hash-based
# checked. `sam build` zips every file stamped 1980-01-01 (aws-lambda-builders' zip), so a
# timestamp pyc never matches its source's mtime on Lambda: Python ignores it and recompiles at
# every cold start (and cannot write the result to the read-only /opt or /var/task).
UNCHECKED_HASH_FLAGS = 0b01


def pyc_flags(path: Path) -> int:
    (flags,) = struct.unpack("<I", path.read_bytes()[4:8])
    return int(flags)


def test_every_pyc_of_the_layer_and_the_functions_is_unchecked_hash_based(
    layer: Build, functions: dict[str, Path]
) -> None:
    if runtime_interpreter() is None:
        pytest.skip(f"no {declared_runtime()} interpreter on this machine: no bytecode shipped")
    folders = [layer.artifacts, *functions.values()]
    compiled = [path for folder in folders for path in folder.rglob("*.pyc")]
    assert compiled
    not_unchecked = sorted(
        str(path) for path in compiled if pyc_flags(path) != UNCHECKED_HASH_FLAGS
    )
    assert not_unchecked == [], f"{len(not_unchecked)} pyc files Lambda would recompile"


# ---------------------------------------------------------------------------- functions
def test_each_function_build_is_its_handler_and_only_the_runtimes_bytecode(
    functions: dict[str, Path],
) -> None:
    tag = python_tag()
    for logical_id, folder in functions.items():
        files = {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}
        assert files <= {"app.py", f"__pycache__/app.cpython-{tag}.pyc"}, logical_id
        assert "app.py" in files, logical_id


# ---------------------------------------------------------------------------- imports
_IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
sys.path[:0] = sys.argv[1:]
import app
import helpdesk
for module in pkgutil.walk_packages(helpdesk.__path__, "helpdesk."):
    importlib.import_module(module.name)
from helpdesk.config import load_config
from helpdesk.language import detect_language
from helpdesk.web import language_name
config = load_config(sys.argv[2] + "/helpdesk/helpdesk.yaml")
assert detect_language("Hello, my invoice is wrong and I want a refund.", ("en", "de")) == "en"
spoken = set(config.helpdesk.languages)
spoken |= {language for agent in config.agents for language in config.languages_of(agent)}
unnamed = [code for code in sorted(spoken) if language_name(code) == code]
assert unnamed == [], f"no babel locale data in the layer for {unnamed}"
from helpdesk.knowledge import KnowledgeBase
knowledge = KnowledgeBase.load(sys.argv[2] + "/helpdesk/knowledge.json")
found = [s.article.slug for s in knowledge.suggest("забыла пароль", "ru")]
assert found[:1] == ["reset-password"], found
allowed = (sys.argv[1], sys.argv[2], sys.base_prefix)
outside = [m.__file__ for m in list(sys.modules.values())
           if getattr(m, "__file__", None) and not m.__file__.startswith(allowed)]
assert outside == [], outside
print("ok")
"""


def test_each_handler_imports_from_the_built_layer_alone(
    layer: Build, functions: dict[str, Path]
) -> None:
    interpreter = runtime_interpreter()
    if interpreter is None:
        pytest.skip(f"no {declared_runtime()} interpreter on this machine")
    if (
        sys.platform != "linux"
        or os.uname().machine != {"x86_64": "x86_64", "arm64": "aarch64"}[declared_architecture()]
    ):
        pytest.skip(f"this machine cannot load {declared_architecture()} Linux extensions")
    environment = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HELPDESK_CONFIG": str(layer.site / "helpdesk" / "helpdesk.yaml"),
        "POWERTOOLS_SERVICE_NAME": "helpdesk",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for logical_id, folder in functions.items():
        # -I: no user site, no PYTHON* variables, no script folder; -S: no site-packages.
        # The path is what Lambda gives a handler: its own folder, then /opt/python.
        answer = subprocess.run(
            [interpreter, "-I", "-S", "-c", _IMPORT_EVERYTHING, str(folder), str(layer.site)],
            capture_output=True,
            text=True,
            env=environment,
            cwd=folder,
            check=False,
            timeout=120,
        )
        assert answer.returncode == 0 and answer.stdout.strip() == "ok", (
            logical_id,
            answer.stderr[-2000:],
        )


# ---------------------------------------------------------------------------- sam itself
def test_sam_build_produces_the_same_layer(tmp_path: Path) -> None:
    sam = shutil.which("sam")
    if sam is None:
        pytest.skip("the AWS SAM CLI is not on PATH; the make targets above are what it runs")
    subprocess.run(
        [sam, "build", "--template-file", str(ROOT / "template.yaml"),
         "--build-dir", str(tmp_path / "build"), LAYER_ID],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        check=True,
        capture_output=True,
        timeout=1200,
    )  # fmt: skip
    site = tmp_path / "build" / LAYER_ID / "python"
    assert (site / "helpdesk" / "helpdesk.yaml").is_file()
    architecture = declared_architecture()
    for path in shared_objects(site):
        assert elf_machine(path) == ELF_MACHINES[architecture], path
