"""Builds the Lambda layer and the function folders for the runtime template.yaml declares.

Called by the Makefile's ``build-HelpdeskLayer`` and ``build-<Name>Function`` targets, which
``sam build`` runs (BuildMethod: makefile). It runs on any Linux or macOS host with Python
3.9+ and pip, without Docker, and needs nothing but the standard library:

* Dependencies are wheels for the Lambda platform, not for the host: ``pip install
  --platform ... --implementation cp --python-version X.Y --abi cpXY --only-binary=:all:``
  (AWS: "Working with .zip file archives for Python Lambda functions" and the knowledge
  center article "lambda-python-package-compatible"), constrained to the lock
  (constraints.txt); any installed distribution that is not in the lock at its locked
  version fails the build.
* The python3.12+ runtimes run on Amazon Linux 2023, whose glibc is 2.34 (AWS Lambda
  runtimes page); a wheel tagged manylinux_2_X for X <= 34 loads there, so every such tag
  is offered to pip (``--platform manylinux2014_x86_64`` alone would refuse wheels that are
  only published for newer glibc, such as numpy 2.4's manylinux_2_28).
* Only the package's sources are copied: no ``__pycache__``, no editor or developer files.
* Bytecode is only useful to the interpreter that wrote it (its magic number and file name
  carry the version), so it is written only by the runtime's own Python when this host has
  one (``python3.13`` on PATH, or a pyenv installation), as hash-based ``unchecked-hash``
  pycs that a read-only /opt or /var/task never needs to rewrite. Without that interpreter
  no bytecode is shipped at all, and Lambda compiles in memory at each cold start.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _declared(key: str, pattern: str) -> str:
    """The first ``key:`` of template.yaml (Globals.Function comes before every resource).

    A regular expression rather than a YAML parser, so that the build needs nothing
    outside the standard library; tests/integration/test_layer_build.py compares what
    gets built with the template as a YAML parser reads it.
    """
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    match = re.search(rf"^\s+{key}:\s*{pattern}\s*$", text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"lambda_build: no {key} in template.yaml")
    return match.group(1)


RUNTIME = _declared("Runtime", r"(python\d\.\d+)")
ARCHITECTURE = _declared("Architectures", r"\[\s*(x86_64|arm64)\s*\]")
# Amazon Linux 2023, the OS of the python3.12+ runtimes, ships glibc 2.34.
RUNTIME_GLIBC = (2, 34)

_MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
_PY_VERSION = re.compile(r"^python(\d)\.(\d+)$")


def python_version(runtime: str = RUNTIME) -> tuple[int, int]:
    match = _PY_VERSION.match(runtime)
    if match is None:
        raise SystemExit(f"not a Python runtime: {runtime}")
    return int(match.group(1)), int(match.group(2))


def platform_tags(architecture: str = ARCHITECTURE) -> list[str]:
    """Every manylinux tag the runtime's glibc loads, newest first."""
    machine = _MACHINES[architecture]
    major, newest = RUNTIME_GLIBC
    tags = [f"manylinux_{major}_{minor}_{machine}" for minor in range(newest, 16, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += [f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    return tags


def runtime_interpreter(runtime: str = RUNTIME) -> str | None:
    """A Python of the runtime's version on this host, or None.

    LAMBDA_PYTHON names one explicitly; else ``python3.X`` on PATH (a pyenv shim that is
    not activated fails to run and is skipped), else a pyenv installation of 3.X.
    """
    major, minor = python_version(runtime)
    candidates = [os.environ.get("LAMBDA_PYTHON", "")]
    candidates.append(shutil.which(f"python{major}.{minor}") or "")
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(
        glob.glob(f"{pyenv_root}/versions/{major}.{minor}.*/bin/python{major}.{minor}"),
        reverse=True,
    )
    for candidate in filter(None, candidates):
        try:
            answer = subprocess.run(  # noqa: S603 - a Python interpreter, asked its version
                [candidate, "-c", "import sys; print(*sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if answer.returncode == 0 and answer.stdout.split() == [str(major), str(minor)]:
            return candidate
    return None


def can_run_here(architecture: str = ARCHITECTURE) -> bool:
    """Whether this host can load the layer's extensions (Linux on the same machine)."""
    return sys.platform == "linux" and os.uname().machine == _MACHINES[architecture]


def read_lock(path: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line, names normalised (PEP 503)."""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            name = name.split("[", 1)[0]
            pins[normalise(name)] = version.strip()
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(site: Path) -> dict[str, str]:
    """``name -> version`` of every distribution pip installed into ``site``."""
    found: dict[str, str] = {}
    for metadata in site.glob("*.dist-info/METADATA"):
        fields: dict[str, str] = {}
        for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                break  # the headers end at the first empty line (core metadata spec)
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        found[normalise(fields["Name"])] = fields["Version"]
    return found


def install_dependencies(site: Path) -> None:
    major, minor = python_version()
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--no-compile", "--disable-pip-version-check",
        "--target", str(site),
        "--implementation", "cp",
        "--python-version", f"{major}.{minor}",
        "--abi", f"cp{major}{minor}",
        "--only-binary=:all:",
        "-c", str(ROOT / "constraints.txt"),
        "-r", str(ROOT / "layers" / "helpdesk" / "requirements.txt"),
    ]  # fmt: skip
    for tag in platform_tags():
        command += ["--platform", tag]
    subprocess.run(command, check=True)  # noqa: S603 - pip, with our own arguments
    # Console scripts (jp.py, normalizer, ...) are of no use in a layer.
    shutil.rmtree(site / "bin", ignore_errors=True)
    lock = read_lock(ROOT / "constraints.txt")
    strays = {
        name: version
        for name, version in installed_distributions(site).items()
        if lock.get(name) != version
    }
    if strays:
        raise SystemExit(
            "installed but not locked at that version in constraints.txt: "
            + ", ".join(f"{name}=={version}" for name, version in sorted(strays.items()))
        )


def copy_sources(source: Path, destination: Path) -> None:
    shutil.copytree(
        source,
        destination,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*"),
    )


def compile_bytecode(folder: Path, interpreter: str | None) -> None:
    if interpreter is None:
        print(
            f"lambda_build: no {RUNTIME} interpreter on this host; shipping no bytecode "
            "(Lambda compiles each module in memory at a cold start). Put python"
            f"{'.'.join(map(str, python_version()))} on PATH or set LAMBDA_PYTHON to ship it.",
            file=sys.stderr,
        )
        return
    subprocess.run(  # noqa: S603 - the runtime's interpreter on our own folder
        # -f: rewrite any pyc already there; compileall skips a pyc it thinks is current
        # whatever its invalidation mode, and only unchecked-hash pycs survive SAM's zip, which
        # stamps every file 1980-01-01 (PEP 552; importlib "Cached bytecode invalidation").
        [interpreter, "-m", "compileall", "-q", "-f", "--invalidation-mode", "unchecked-hash",
         str(folder)],
        check=True,
    )  # fmt: skip


# Prints the languages the desk renders in: its own and every agent's (the form and the
# intake only ever pick one of the desk's languages; render.py falls back to English).
_CONFIG_PROBE = """
import json, sys
from helpdesk.config import load_config
config = load_config(sys.argv[1])
languages = set(config.helpdesk.languages) | {"en"}
languages |= {language for agent in config.agents for language in config.languages_of(agent)}
print(json.dumps(sorted(languages)))
"""


def validate_config(site: Path, interpreter: str | None) -> list[str]:
    """Refuse a broken ops config, with the layer's own packages where this host can run
    them (the runtime's interpreter and nothing else on its path), else with this Python;
    answer the languages it renders in."""
    config = str(site / "helpdesk" / "helpdesk.yaml")
    if interpreter is not None and can_run_here():
        probe = f"import sys; sys.path[:0] = [{str(site)!r}]\n{_CONFIG_PROBE}"
        # -B: the probe imports the layer's own packages and must not leave timestamp pycs
        # there, which compileall below would then skip as up to date (see compile_bytecode).
        command = [interpreter, "-B", "-I", "-S", "-c", probe, config]
        try:
            answer = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
        except subprocess.CalledProcessError as error:
            # The config's own error (file, line, key) is in the probe's stderr: show it,
            # not only the exit status (review-later7 L1).
            raise SystemExit(
                f"{error.stderr}\nlambda_build: infra/helpdesk.yaml is refused (above)"
            ) from None
        return list(json.loads(answer.stdout))
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "helpdesk")}
    try:
        answer = subprocess.run(  # noqa: S603
            [sys.executable, "-c", _CONFIG_PROBE, config],
            check=True,
            env=environment,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as error:
        raise SystemExit(
            f"{error.stderr}\nlambda_build: could not validate infra/helpdesk.yaml: either the "
            f"config is broken (above), or this Python ({sys.executable}) lacks the project's "
            "packages; run `make install` first (the Makefile then builds with .venv/bin/python)"
        ) from None
    return list(json.loads(answer.stdout))


# Checks the knowledge base's articles and writes their retrieval bundle (docs/KNOWLEDGE.md).
_KNOWLEDGE_PROBE = """
import sys
from pathlib import Path
from helpdesk_local.knowledge_checks import build_bundle_for
print(build_bundle_for(Path(sys.argv[1]), Path(sys.argv[2])))
"""


def build_knowledge(site: Path) -> None:
    """The articles of infra/helpdesk.yaml's ``knowledge.path``, checked as `helpdesk
    validate` checks them, as one JSON bundle next to the config in the layer
    (helpdesk/knowledge.json): the index is built here, never at a cold start. It is data,
    so this Python builds it, with the project's pinned stemmer (the lock is the layer's)."""
    paths = [ROOT / "layers" / "helpdesk", ROOT / "infra" / "local"]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}
    destination = site / "helpdesk" / "knowledge.json"
    try:
        subprocess.run(  # noqa: S603 - this Python, our own probe
            [sys.executable, "-c", _KNOWLEDGE_PROBE, str(ROOT / "infra" / "helpdesk.yaml"),
             str(destination)],
            check=True, env=environment, capture_output=True, text=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as error:
        raise SystemExit(
            f"{error.stderr}\nlambda_build: could not build the knowledge base (above); "
            "`helpdesk validate` names each problem (a missing module: run `make install` "
            "first, and the Makefile builds with .venv/bin/python)"
        ) from None


def keep_locale_data(site: Path, languages: list[str]) -> None:
    """Babel's locale data for the languages the desk renders in, and nothing else.

    Babel ships ~1,000 locales (29 MiB, the largest part of the layer). The config is
    bundled with the layer, so a language added to it means a new build anyway. A locale's
    parents (en_GB -> en_001 -> en -> root, zh -> zh_Hans_CN -> zh_Hans) always share its
    language subtag, so keeping every file of that language keeps them.
    """
    data = site / "babel" / "locale-data"
    wanted = {language.replace("-", "_").split("_", 1)[0].lower() for language in languages}
    for path in data.glob("*.dat"):
        if path.stem != "root" and path.stem.split("_", 1)[0].lower() not in wanted:
            path.unlink()


def build_layer(artifacts: Path) -> None:
    site = artifacts / "python"
    if site.exists():
        shutil.rmtree(site)
    install_dependencies(site)
    copy_sources(ROOT / "layers" / "helpdesk" / "helpdesk", site / "helpdesk")
    shutil.copy2(ROOT / "infra" / "helpdesk.yaml", site / "helpdesk" / "helpdesk.yaml")
    interpreter = runtime_interpreter()
    keep_locale_data(site, validate_config(site, interpreter))
    build_knowledge(site)
    compile_bytecode(site, interpreter)


def build_function(source: Path, artifacts: Path) -> None:
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "app.py", artifacts / "app.py")
    compile_bytecode(artifacts, runtime_interpreter())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sub = parser.add_subparsers(dest="what", required=True)
    layer = sub.add_parser("layer", help="the HelpdeskLayer into ARTIFACTS_DIR/python")
    layer.add_argument("artifacts", type=Path)
    function = sub.add_parser("function", help="a function folder's handler")
    function.add_argument("source", type=Path)
    function.add_argument("artifacts", type=Path)
    sub.add_parser("runtime-python", help="print the runtime's interpreter on this host")
    args = parser.parse_args(argv)
    if args.what == "layer":
        build_layer(args.artifacts.resolve())
    elif args.what == "function":
        build_function(args.source.resolve(), args.artifacts.resolve())
    else:
        interpreter = runtime_interpreter()
        if interpreter is None:
            raise SystemExit(1)
        print(interpreter)


if __name__ == "__main__":
    main()
