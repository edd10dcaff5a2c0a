"""models/fetch.sh: mirror install, idempotency, corrupted mirror, --check, upstream over HTTP."""

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading

import pytest

from conftest import MODELS

sys.path.insert(0, str(MODELS))
import fetch  # noqa: E402

FETCH = MODELS / "fetch.sh"
MANIFEST = fetch.load_manifest()
YUNET = next(m for m in MANIFEST if m["id"] == "yunet_2026may")


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("FACEID_MODEL_DIR", None)
    e.update(env or {})
    return subprocess.run(["bash", str(FETCH), *map(str, args)], capture_output=True, text=True, env=e, timeout=600)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.fixture(scope="module")
def installed(mirror, tmp_path_factory):
    dest = tmp_path_factory.mktemp("cache")
    r = run("--mirror", mirror, "--dest", dest)
    assert r.returncode == 0, r.stderr
    return dest, r


def test_mirror_install_verifies_every_file(installed):
    dest, r = installed
    for m in MANIFEST:
        p = dest / m["file"]
        assert p.is_file(), m["file"]
        assert p.stat().st_size == m["bytes"]
        assert sha(p) == m["sha256"]
        lic = dest / "licenses" / m["licence_file"]
        assert sha(lic) == m["licence_sha256"]
    assert "installed from mirror" in r.stderr
    assert not [n for n in listing(dest) if n.endswith(".part") or ".work-" in n], listing(dest)


def test_second_run_is_a_no_op(installed, mirror):
    dest, _ = installed
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in dest.rglob("*")}
    r = run("--mirror", mirror, "--dest", dest)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("ok (already verified)") == len(MANIFEST)
    assert "installed" not in r.stderr.replace("not installed", "")
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in dest.rglob("*")}
    assert before == after


def test_check_passes_on_a_good_cache_and_honours_FACEID_MODEL_DIR(installed):
    dest, _ = installed
    r = run("--check", env={"FACEID_MODEL_DIR": str(dest)})
    assert r.returncode == 0, r.stderr
    assert f"all {len(MANIFEST)} verified" in r.stderr


def corrupt(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    return hashlib.sha256(bytes(data)).hexdigest()


def test_corrupted_mirror_file_fails_clearly_and_installs_nothing_bad(mirror, tmp_path):
    bad_mirror = tmp_path / "mirror"
    shutil.copytree(mirror, bad_mirror)
    actual = corrupt(bad_mirror / YUNET["file"])
    dest = tmp_path / "cache"
    r = run("--mirror", bad_mirror, "--dest", dest)
    assert r.returncode != 0
    assert YUNET["file"] in r.stderr
    assert f"expected sha256 {YUNET['sha256']}" in r.stderr
    assert f"actual   sha256 {actual}" in r.stderr
    assert "FAILED for yunet_2026may" in r.stderr
    assert not (dest / YUNET["file"]).exists()
    assert not [n for n in listing(dest) if n.endswith(".part") or ".work-" in n], listing(dest)
    # the other models were installed and verified
    for m in MANIFEST:
        if m is not YUNET:
            assert sha(dest / m["file"]) == m["sha256"]
    # --check names the missing file and fails
    r = run("--check", "--dest", dest)
    assert r.returncode != 0 and f"{YUNET['file']}: missing" in r.stderr


def test_bad_cached_file_is_reported_by_check_and_replaced_by_fetch(mirror, tmp_path):
    dest = tmp_path / "cache"
    assert run("--mirror", mirror, "--dest", dest, "--only", "yunet_2026may").returncode == 0
    target = dest / YUNET["file"]
    actual = corrupt(target)
    r = run("--check", "--dest", dest, "--only", "yunet_2026may")
    assert r.returncode != 0
    assert f"actual   sha256 {actual}" in r.stderr
    assert sha(target) == actual, "--check must not change the cache"
    r = run("--mirror", mirror, "--dest", dest, "--only", "yunet_2026may")
    assert r.returncode == 0, r.stderr
    assert "cached copy is wrong, replacing it" in r.stderr
    assert sha(target) == YUNET["sha256"]


def test_bad_cached_file_is_removed_when_the_mirror_is_bad_too(mirror, tmp_path):
    bad_mirror = tmp_path / "mirror"
    bad_mirror.mkdir()
    shutil.copy(mirror / YUNET["file"], bad_mirror / YUNET["file"])
    corrupt(bad_mirror / YUNET["file"])
    dest = tmp_path / "cache"
    dest.mkdir()
    (dest / YUNET["file"]).write_bytes(b"not a model")
    r = run("--mirror", bad_mirror, "--dest", dest, "--only", "yunet_2026may")
    assert r.returncode != 0
    assert not (dest / YUNET["file"]).exists()


def test_missing_mirror_file_is_named(tmp_path):
    empty = tmp_path / "mirror"
    empty.mkdir()
    r = run("--mirror", empty, "--dest", tmp_path / "cache", "--only", "yunet_2026may")
    assert r.returncode != 0
    assert f"{YUNET['file']}: not found at {empty / YUNET['file']}" in r.stderr


def test_dlib_built_from_the_mirrors_dat_is_the_pinned_file(mirror, tmp_path):
    if not (mirror / "dlib").is_dir():
        pytest.skip("mirror has no dlib/ source folder")
    pytest.importorskip("onnx")
    dest = tmp_path / "cache"
    r = run("--mirror", mirror, "--from-source", "--only", "dlib_resnet_v1", "--dest", dest,
            env={"FACEID_PYTHON": sys.executable})
    assert r.returncode == 0, r.stderr
    assert "verified source dlib_face_recognition_resnet_model_v1.dat" in r.stderr
    assert "built from verified source" in r.stderr
    m = next(m for m in MANIFEST if m["id"] == "dlib_resnet_v1")
    assert sha(dest / m["file"]) == m["sha256"]


@pytest.fixture
def http_mirror(mirror, tmp_path):
    """A loopback HTTP server over a copy of two mirror files (one of them corrupted)."""
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(mirror / YUNET["file"], root / "good.onnx")
    shutil.copy(mirror / YUNET["file"], root / "bad.onnx")
    corrupt(root / "bad.onnx")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def write_manifest(path, url):
    text = (MODELS / "manifest.toml").read_text()
    text = text.replace(YUNET["source"], url)
    path.write_text(text)


def test_upstream_http_download_verifies_and_installs(http_mirror, tmp_path):
    manifest = tmp_path / "manifest.toml"
    write_manifest(manifest, f"{http_mirror}/good.onnx")
    dest = tmp_path / "cache"
    r = run("--manifest", manifest, "--only", "yunet_2026may", "--dest", dest)
    assert r.returncode == 0, r.stderr
    assert "installed from upstream" in r.stderr
    assert sha(dest / YUNET["file"]) == YUNET["sha256"]


def test_upstream_http_download_with_wrong_bytes_is_rejected(http_mirror, tmp_path):
    manifest = tmp_path / "manifest.toml"
    write_manifest(manifest, f"{http_mirror}/bad.onnx")
    dest = tmp_path / "cache"
    r = run("--manifest", manifest, "--only", "yunet_2026may", "--dest", dest)
    assert r.returncode != 0
    assert f"SHA-256 mismatch for {http_mirror}/bad.onnx" in r.stderr
    assert not (dest / YUNET["file"]).exists()
    assert not [n for n in listing(dest) if n.endswith(".part")], listing(dest)


def test_upstream_http_error_is_reported(http_mirror, tmp_path):
    manifest = tmp_path / "manifest.toml"
    write_manifest(manifest, f"{http_mirror}/missing.onnx")
    r = run("--manifest", manifest, "--only", "yunet_2026may", "--dest", tmp_path / "cache")
    assert r.returncode != 0
    assert "download failed" in r.stderr and "404" in r.stderr


def test_export_sources_say_what_to_do(tmp_path):
    r = run("--only", "minifasnet_v2_2.7", "--dest", tmp_path / "cache", env={"FACEID_SILENT_FACE_DIR": ""})
    assert r.returncode != 0
    assert "minifasnet_v2_2.7_80x80.onnx: cannot be fetched automatically" in r.stderr
    assert "--mirror" in r.stderr and "FACEID_SILENT_FACE_DIR" in r.stderr


def test_unknown_model_id_is_a_usage_error(tmp_path):
    r = run("--only", "nope", "--dest", tmp_path)
    assert r.returncode == 2 and "unknown model id" in r.stderr


def test_manifest_fallback_parser_agrees_with_tomllib():
    tomllib = pytest.importorskip("tomllib")
    text = (MODELS / "manifest.toml").read_text()
    full = tomllib.loads(text)["model"]
    mini = fetch._mini_toml(text)["model"]
    assert len(full) == len(mini)
    for a, b in zip(full, mini):
        for k, v in b.items():
            if not isinstance(a[k], (list, dict)):
                assert a[k] == v, (a["id"], k)
        assert {k for k, v in a.items() if not isinstance(v, (list, dict))} == set(b)
