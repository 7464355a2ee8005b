"""The Dockerfile, read as text (no Docker here): the image it describes runs
the sidecar as a non-root user from a venv installed the README's way, is
health-checked on /healthz and listens on all interfaces."""

from __future__ import annotations

import importlib
import itertools
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8000  # Settings.port


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the instruction, continuation lines joined

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form ENTRYPOINT or CMD."""
        value = json.loads(self.args)
        assert isinstance(value, list), f"{self.keyword} is not in exec form: {self.args}"
        assert all(isinstance(v, str) for v in value)
        return value


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order: comments dropped, backslash continuations joined."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def all_of(instructions: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in instructions if i.keyword == keyword]


def last_of(instructions: list[Instruction], keyword: str) -> Instruction:
    found = all_of(instructions, keyword)
    assert found, f"the Dockerfile has no {keyword}"
    return found[-1]


def environment(instructions: list[Instruction]) -> dict[str, str]:
    """The variables ENV sets (``KEY=value`` pairs, or the old ``KEY value`` form)."""
    env: dict[str, str] = {}
    for instruction in all_of(instructions, "ENV"):
        parts = shlex.split(instruction.args)
        if "=" not in parts[0]:
            env[parts[0]] = " ".join(parts[1:])
            continue
        for part in parts:
            key, _, value = part.partition("=")
            env[key] = value
    return env


def venv_dirs(instructions: list[Instruction]) -> list[str]:
    """Directories that ``python -m venv DIR`` creates in a RUN."""
    return [
        command[command.index("venv") + 1]
        for run in all_of(instructions, "RUN")
        for command in shell_commands(run.args)
        if "-m" in command and "venv" in command[:-1]
    ]


def the_user(instructions: list[Instruction]) -> str:
    return last_of(instructions, "USER").args.split(":")[0]


def served_port(instructions: list[Instruction]) -> int:
    """The port ``serve`` listens on: CMD's --port, else $QUICKPHRASE_PORT, else 8000."""
    cmd = last_of(instructions, "CMD").exec_form()
    for n, option in enumerate(cmd):
        if option == "--port":
            return int(cmd[n + 1])
        if option.startswith("--port="):
            return int(option.split("=", 1)[1])
    return int(environment(instructions).get("QUICKPHRASE_PORT", DEFAULT_PORT))


def shell_commands(script: str) -> list[list[str]]:
    """A shell line split into its simple commands (at &&, ||, ; and |)."""
    commands: list[list[str]] = [[]]
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    for token in lexer:
        if token in ("&&", "||", ";", "|", "&"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def pip_installs(script: str) -> list[tuple[str, list[str]]]:
    """(the pip that runs, its non-option arguments) for each ``pip install``."""
    found = []
    for command in shell_commands(script):
        for n, token in enumerate(command[:-1]):
            if Path(token).name.startswith("pip") and command[n + 1] == "install":
                found.append((token, [a for a in command[n + 2 :] if not a.startswith("-")]))
    return found


def readme_main_command() -> str:
    """The README's first shell block that installs: the command a fresh machine runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", readme, flags=re.DOTALL):
        if "pip install" in block:
            return block
    pytest.fail("the README has no shell block with `pip install`")


def copy_sources(instruction: Instruction) -> list[str]:
    args = instruction.args
    parts = json.loads(args) if args.startswith("[") else shlex.split(args)
    parts = [p for p in parts if not p.startswith("--")]
    assert len(parts) >= 2, f"COPY needs a source and a destination: {instruction.args}"
    return parts[:-1]


# --- base image and user ------------------------------------------------------------


def test_base_image_is_a_slim_python_that_satisfies_requires_python(
    dockerfile: list[Instruction], pyproject: dict
) -> None:
    image = last_of(dockerfile, "FROM").args.split()[0]
    match = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?-slim(?:-[a-z]+)?", image)
    assert match, f"{image} is not a slim python image"
    required = re.fullmatch(r">=\s*(\d+)\.(\d+)", pyproject["project"]["requires-python"])
    assert required, "requires-python is not a plain >= bound"
    assert tuple(map(int, match.groups())) >= tuple(map(int, required.groups()))


def test_the_image_runs_as_a_non_root_user_it_creates(dockerfile: list[Instruction]) -> None:
    user = the_user(dockerfile)
    assert user not in ("root", "0")
    creates = [
        command
        for run in all_of(dockerfile, "RUN")
        for command in shell_commands(run.args)
        if command[0] in ("useradd", "adduser") and command[-1] == user
    ]
    assert creates, f"no RUN creates the user {user}"
    # ENTRYPOINT and CMD run as the last USER: nothing switches back to root.
    keywords = [i.keyword for i in dockerfile]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert last_user < keywords.index("ENTRYPOINT")


def test_the_feedback_database_is_on_a_volume_the_user_owns(
    dockerfile: list[Instruction],
) -> None:
    db = environment(dockerfile).get("QUICKPHRASE_DB")
    assert db, "QUICKPHRASE_DB is not set: the store would live in the container's layer"
    directory = Path(db).parent
    volumes = [
        Path(v)
        for volume in all_of(dockerfile, "VOLUME")
        for v in (json.loads(volume.args) if volume.args.startswith("[") else volume.args.split())
    ]
    assert any(directory == v or v in directory.parents for v in volumes), (
        f"{directory} is not on a VOLUME {volumes}"
    )
    user = the_user(dockerfile)
    owned = [
        command
        for run in all_of(dockerfile, "RUN")
        for command in shell_commands(run.args)
        if command[0] == "chown"
        and any(a.split(":")[0] == user for a in command[1:])
        and any(Path(a) in (directory, *directory.parents[:-1]) for a in command[1:])
    ]
    assert owned, f"no RUN gives {directory} to {user}"


def test_no_api_key_is_baked_into_the_image(dockerfile: list[Instruction]) -> None:
    for instruction in dockerfile:
        if instruction.keyword in ("ENV", "ARG"):
            assert "QUICKPHRASE_API_KEY" not in instruction.args
        assert "--api-key" not in instruction.args


# --- install ------------------------------------------------------------------------


def test_install_step_is_the_readme_pip_install_inside_a_venv(
    dockerfile: list[Instruction],
) -> None:
    readme_targets = {t for _, targets in pip_installs(readme_main_command()) for t in targets}
    assert readme_targets == {"."}, "the README's main command installs something else"
    venvs = venv_dirs(dockerfile)
    assert venvs, "no RUN creates a virtual environment"
    installs = [i for run in all_of(dockerfile, "RUN") for i in pip_installs(run.args)]
    assert installs, "no RUN runs pip install"
    for pip, targets in installs:
        assert any(Path(pip).parent == Path(venv) / "bin" for venv in venvs), (
            f"{pip} is not the pip of the venv {venvs}"
        )
        assert set(targets) == readme_targets


def test_copies_everything_pip_install_needs(
    dockerfile: list[Instruction], pyproject: dict
) -> None:
    copied = {
        Path(s).as_posix().rstrip("/") for c in all_of(dockerfile, "COPY") for s in copy_sources(c)
    }
    needed = {"pyproject.toml", "setup.py", pyproject["project"]["readme"]}
    needed |= set(pyproject["tool"]["setuptools"]["package-dir"].values())
    assert needed <= copied, f"not copied: {sorted(needed - copied)}"


def test_the_install_compiles_the_native_featuriser_and_drops_the_compiler(
    dockerfile: list[Instruction],
) -> None:
    (install,) = [run for run in all_of(dockerfile, "RUN") if pip_installs(run.args)]
    commands = shell_commands(install.args)
    first_pip = next(n for n, c in enumerate(commands) if pip_installs(shlex.join(c)))
    apt = [n for n, c in enumerate(commands) if c[:2] == ["apt-get", "install"]]
    assert apt, "no C compiler is installed: pip would fall back to the slow featuriser"
    assert apt[0] < first_pip
    assert "gcc" in commands[apt[0]]
    checks = [n for n, c in enumerate(commands) if any("NATIVE_AVAILABLE" in a for a in c)]
    assert checks, "the build does not fail when the native kernel is missing"
    assert checks[0] > first_pip
    # Purged in the same RUN, so no layer of the image carries the compiler.
    purges = [n for n, c in enumerate(commands) if c[:2] == ["apt-get", "purge"] and "gcc" in c]
    assert purges
    assert purges[0] > checks[0]


def test_every_copied_path_exists_in_the_repo(dockerfile: list[Instruction]) -> None:
    copies = all_of(dockerfile, "COPY")
    assert copies
    for copy in copies:
        assert "--from" not in copy.args, "a multi-stage COPY: teach this test about it"
        for source in copy_sources(copy):
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repo"


# --- what runs ----------------------------------------------------------------------


def test_entrypoint_is_the_quickphrase_console_script_on_the_venv_path(
    dockerfile: list[Instruction], pyproject: dict
) -> None:
    assert last_of(dockerfile, "ENTRYPOINT").exec_form() == ["quickphrase"]
    assert "quickphrase" in pyproject["project"]["scripts"]
    path = environment(dockerfile).get("PATH", "").split(":")
    assert any(f"{venv}/bin" in path for venv in venv_dirs(dockerfile)), (
        f"no venv's bin is on PATH {path}"
    )


def test_the_quickphrase_console_script_resolves_to_a_callable(pyproject: dict) -> None:
    target = pyproject["project"]["scripts"]["quickphrase"]
    module_name, _, attribute = target.partition(":")
    assert attribute, f"{target} names no function"
    module = importlib.import_module(module_name)
    function = module
    for part in attribute.split("."):
        function = getattr(function, part)
    assert callable(function)


def test_cmd_serves_on_all_interfaces(dockerfile: list[Instruction]) -> None:
    cmd = last_of(dockerfile, "CMD").exec_form()
    assert cmd[0] == "serve"
    options = cmd[1:]
    assert "--host=0.0.0.0" in options or ("--host", "0.0.0.0") in itertools.pairwise(options)


def test_healthcheck_requests_healthz_on_the_served_port(dockerfile: list[Instruction]) -> None:
    healthcheck = last_of(dockerfile, "HEALTHCHECK").args
    assert healthcheck.upper() != "NONE"
    assert re.search(r"(^|\s)CMD(\s|$)", healthcheck), "HEALTHCHECK has no CMD"
    urls = re.findall(r"https?://[^\s'\"]+", healthcheck)
    port = served_port(dockerfile)
    assert any(re.fullmatch(rf"https?://[^/:]+:{port}/healthz", u) for u in urls), (
        f"HEALTHCHECK requests {urls}, not /healthz on port {port}"
    )


def test_healthcheck_uses_a_tool_the_slim_image_has(dockerfile: list[Instruction]) -> None:
    healthcheck = last_of(dockerfile, "HEALTHCHECK").args
    installed = " ".join(run.args for run in all_of(dockerfile, "RUN"))
    for tool in ("curl", "wget"):
        if re.search(rf"\b{tool}\b", healthcheck):
            assert re.search(rf"(apt-get|apk) .*install.*\b{tool}\b", installed), (
                f"the HEALTHCHECK runs {tool}, which python:*-slim lacks and no RUN installs"
            )
