"""What the benchmarks need from the machine: packages, a Turnout binary, the load clients, limits, descriptions."""

import importlib.util
import os
import platform
import resource
import shutil
import subprocess
import sys
from pathlib import Path

APT_PACKAGES = {"wrk": "wrk", "haproxy": "haproxy", "nginx": "nginx", "curl": "curl", "gcc": "gcc",
                "valgrind": "valgrind", "chromium": "chromium", "etcd": "etcd-server"}
# What benchmarks/run and benchmarks/switch need; benchmarks/instructions asks for nginx and valgrind.
LOAD_TOOLS = ("wrk", "haproxy", "nginx", "curl", "gcc")
# The benchmarks' release builds, a scratch path of their own: a release build sharing `.build` with the debug
# builds (or nested inside it) once failed on a module cache both had written.
RELEASE_SCRATCH = ".build-bench"
TOOLS_DIR = Path(__file__).resolve().parent.parent / "tools"

# The daemons' system paths live in /usr/sbin, which a non-login shell may leave out.
os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def ensure_packages(tools=LOAD_TOOLS, python_modules=("matplotlib",)):
    """Installs the `tools` (load tools, the other proxies, gcc) that are missing with apt-get, and the
    `python_modules` that are missing into the project's `.venv` (the script then goes on under its Python)."""
    missing = [APT_PACKAGES[tool] for tool in tools if shutil.which(tool) is None]
    if missing:
        log(f"installing {' '.join(missing)} (apt-get)")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        if sudo and shutil.which("sudo") is None:
            sys.exit(f"{Path(sys.argv[0]).name}: need root or sudo to install {' '.join(missing)}")
        # Keep the packages' init scripts from starting system-wide nginx/haproxy daemons during the install.
        policy = Path("/usr/sbin/policy-rc.d")
        created_policy = not policy.exists()
        if created_policy:
            subprocess.run(sudo + ["sh", "-c", f"printf '#!/bin/sh\\nexit 101\\n' > {policy} && chmod +x {policy}"],
                           check=True)
        try:
            subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True)
            subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                           check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        finally:
            if created_policy:
                subprocess.run(sudo + ["rm", "-f", str(policy)], check=False)
    missing_modules = [module for module in python_modules if importlib.util.find_spec(module) is None]
    if missing_modules:
        use_project_venv(missing_modules)


# The project's virtual environment (the Makefile's `test-deps` makes it too): Python packages go there, never into
# the system's Python.
VENV = Path(__file__).resolve().parents[2] / ".venv"


def use_project_venv(modules):
    """Installs `modules` into the project's `.venv` (made when missing) and runs this script again with its Python,
    so that the packages are never installed into the system's Python. Does not return."""
    python = VENV / "bin" / "python"
    if not python.exists():
        log(f"making the virtual environment {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    log(f"installing {' '.join(modules)} into {VENV} (pip)")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *modules], check=True)
    if Path(sys.prefix).resolve() == VENV.resolve():
        sys.exit(f"{Path(sys.argv[0]).name}: {' '.join(modules)} installed into {VENV} but still not importable")
    os.execv(str(python), [str(python), *sys.argv])


def build_release(repo_root, scratch, products=("turnout",)):
    """Builds the release `products` into `scratch` (the binaries land in `scratch`/release)."""
    for product in products:
        log(f"building {product} (release, scratch path {scratch})")
        subprocess.run(["swift", "build", "-c", "release", "--product", product, "--scratch-path", str(scratch)],
                       cwd=repo_root, check=True, stdout=sys.stderr)


def compile_command(work, tool, libraries=()):
    """The gcc command that compiles `tools/<tool>.c` into the work directory, linked with `libraries`."""
    return (["gcc", "-O2", "-Wall", "-o", str(Path(work) / tool), str(TOOLS_DIR / f"{tool}.c")]
            + [f"-l{library}" for library in libraries])


def compile_tool(work, tool, libraries=()):
    """Compiles a load client of `tools/` (open_loop, switchload, handshakes) into the work directory; returns its
    path."""
    subprocess.run(compile_command(work, tool, libraries), check=True)
    return Path(work) / tool


def raise_open_file_limit(wanted=65536):
    """Raises RLIMIT_NOFILE for this process and everything it starts (10,000 idle connections need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def first_line(command):
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (completed.stdout or completed.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def machine_description():
    """nproc, CPU model, memory, kernel and load average, for the report's header."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        memory_kib = int(meminfo.readline().split()[1])
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": f"{platform.system()} {platform.release()}",
        "load_at_start": load,
    }


def versions(repo_root, turnout_bin, tools=("haproxy", "nginx", "wrk", "curl")):
    """The versions of Turnout, of the `tools` (other proxies, load tools) and of Python."""
    commit = first_line(["git", "-C", str(repo_root), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(repo_root), "diff", "--quiet", "HEAD", "--", "Sources"],
                           capture_output=True).returncode != 0
    source = f"repository at {commit}" + (", Sources modified" if dirty else "")
    known = {
        "haproxy": lambda: first_line(["haproxy", "-v"]).split(" - ")[0].replace(" version", ""),
        "nginx": lambda: first_line(["nginx", "-v"]).replace("nginx version: ", ""),
        "wrk": lambda: " ".join(first_line(["wrk", "-v"]).split()[:2]),
        "curl": lambda: " ".join(first_line(["curl", "--version"]).split()[:2]),
    }
    return {
        "turnout": f"turnout {first_line([str(turnout_bin), '--version'])} ({source})",
        **{tool: known[tool]() for tool in tools},
        "python": f"Python {platform.python_version()}",
    }
