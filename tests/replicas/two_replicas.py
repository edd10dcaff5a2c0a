"""Two faceid-server replicas on one PostgreSQL database with the photo store on an
S3-compatible server (moto), driven from outside as phones, kiosks and a browser would.

Run by tests/run.d/replicas.sh, which starts PostgreSQL, moto and the two servers and passes
their addresses in the environment. Check-ins and kiosk identifications alternate between the
replicas and race on the same employees and idempotency keys; afterwards:
- the hash chain verifies on both replicas, with one event per position (no fork);
- every idempotency key produced one event, and both racers got that event;
- the per-account login limit holds across replicas, and a refresh token rotated on one
  replica is refused on the other;
- each periodic job period ran once although both replicas schedule them;
- every evidence photo is in the bucket and readable through either replica.
Exits non-zero with a message at the first broken promise.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import boto3
import requests

A = os.environ["REPLICA_A"]
B = os.environ["REPLICA_B"]
REPLICAS = [A, B]
ADMIN = os.environ["REPLICA_ADMIN"]
ADMIN_PASSWORD = os.environ["REPLICA_ADMIN_PASSWORD"]
DATABASE_URL = os.environ["REPLICA_DATABASE_URL"]
PSQL = os.environ.get("REPLICA_PSQL", "psql")
FACES = os.environ["REPLICA_FACES"]
BUCKET = os.environ["REPLICA_BUCKET"]
PASSWORD = "Replica-pass-2026"
SITE = (55.75, 37.61)

# Enrolment and probe photos: four different people.
PEOPLE = {
    "obama": (["barack_obama/obama.jpg", "barack_obama/obama-480p.jpg"], "barack_obama/obama-720p.jpg"),
    "rose": (["rose_leslie/img1.jpg"], "rose_leslie/img2.jpg"),
    "alex": (["alex_lacamoire/alex_lacamoire1.jpg"], "alex_lacamoire/img1.jpg"),
    "kit": (["kit_harington/john1.jpeg"], "kit_harington/john2.jpeg"),
}


def uuid7():
    """A UUIDv7 (the server asks idempotency keys to be time-ordered)."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def fail(message):
    print(f"two_replicas: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def photo(rel):
    with open(os.path.join(FACES, "face_recognition", rel), "rb") as f:
        return f.read()


def call(base, method, path, token=None, expect=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    r = requests.request(method, base + path, headers=headers, timeout=120, **kwargs)
    if expect is not None and r.status_code != expect:
        fail(f"{method} {base}{path}: expected {expect}, got {r.status_code}: {r.text[:400]}")
    return r


def login(base, login_name, password, expect=200):
    body = {
        "login": login_name,
        "password": password,
        "device": {"id": str(uuid.uuid4()), "name": "Replica phone", "platform": "android", "app_version": "1.0.0"},
    }
    return call(base, "POST", "/api/v1/auth/login", json=body, expect=expect)


def sql(query):
    out = subprocess.run([PSQL, DATABASE_URL, "-XtAc", query], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def evidence(key, kind="in"):
    now = datetime.now(timezone.utc).isoformat()
    return {
        "idempotency_key": key,
        "kind": kind,
        "clock": {"device_time": now},
        "gps": {"lat": SITE[0], "lon": SITE[1], "accuracy_m": 12.0, "fix_time": now, "mock": False, "provider": "fused"},
        "liveness": {"passive": 0.9},
    }


def punch(base, token, ev, frame):
    files = {
        "evidence": (None, json.dumps(ev), "application/json"),
        "best_frame": ("frame.jpg", frame, "image/jpeg"),
    }
    return call(base, "POST", "/api/v1/attendance/events", token, files=files)


def identify(base, kiosk, frame):
    ev = {"idempotency_key": uuid7()}
    files = {
        "evidence": (None, json.dumps(ev), "application/json"),
        "best_frame": ("frame.jpg", frame, "image/jpeg"),
    }
    return call(base, "POST", "/api/v1/kiosk/identify", kiosk, files=files)


def main():
    admin = login(A, ADMIN, ADMIN_PASSWORD).json()["access_token"]
    site = call(B, "POST", "/api/v1/sites", admin, expect=201, json={
        "name": "Main street", "time_zone": "Europe/Moscow",
        "geofence": {"type": "circle", "latitude": SITE[0], "longitude": SITE[1], "radius_m": 150.0}}).json()["id"]
    call(A, "POST", "/api/v1/consent-texts", admin, expect=201,
         json={"kind": "biometric", "body": "We keep your face template."})
    call(B, "PUT", "/api/v1/settings/attendance-policy", admin, expect=200,
         json={"liveness_mode": "passive", "max_gps_accuracy_m": 100.0, "geofence_required": True,
               "max_offline_delay_s": 86400})
    kiosk = call(A, "POST", "/api/v1/devices", admin, expect=201,
                 json={"name": "Door tablet", "site_id": site}).json()["credential"]

    # Employees created, consenting and enrolled, each step on the other replica.
    tokens, ids = {}, {}
    for i, (name, (enrol, _)) in enumerate(PEOPLE.items()):
        first, second = REPLICAS[i % 2], REPLICAS[(i + 1) % 2]
        ids[name] = call(first, "POST", "/api/v1/employees", admin, expect=201, json={
            "login": name, "password": PASSWORD, "first_name": name.title(), "last_name": "Replica",
            "role": "user", "site_ids": [site], "must_change_password": False}).json()["id"]
        tokens[name] = login(second, name, PASSWORD).json()["access_token"]
        call(first, "POST", "/api/v1/me/consents", tokens[name], expect=201,
             json={"kind": "biometric", "action": "grant"})
        files = [("photo", (p, photo(p), "image/jpeg")) for p in enrol]
        call(second, "POST", "/api/v1/me/face-templates", tokens[name], expect=201, files=files)
    print("two_replicas: 4 employees enrolled across the replicas", file=sys.stderr)

    # Racing check-ins: every key is sent to both replicas at once, twice over.
    jobs = []
    keys = []
    for round_no in range(3):
        for name, (_, probe) in PEOPLE.items():
            key = uuid7()
            keys.append(key)
            ev = evidence(key, "in" if round_no % 2 == 0 else "out")
            frame = photo(probe)
            for base in (A, B, B, A):
                jobs.append((key, base, name, ev, frame))
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda j: (j[0], punch(j[1], tokens[j[2]], j[3], j[4])), jobs))
    by_key = {}
    for key, r in answers:
        check(r.status_code in (200, 201), f"check-in {key}: {r.status_code} {r.text[:300]}")
        body = r.json()
        check(body["verdict"] == "verified", f"check-in {key} not verified: {body}")
        by_key.setdefault(key, set()).add(body["event_id"])
    for key in keys:
        check(len(by_key[key]) == 1, f"idempotency key {key} answered with several events: {by_key[key]}")
        stored = sql(f"SELECT count(*) FROM attendance_events WHERE idempotency_key = '{key}'")
        check(stored == "1", f"idempotency key {key} stored {stored} events")
    print(f"two_replicas: {len(jobs)} racing check-ins, {len(keys)} keys, one event each", file=sys.stderr)

    # Kiosk identifications alternating replicas, concurrently on the same people.
    kiosk_jobs = [(REPLICAS[i % 2], probe) for i, (_, probe) in enumerate(list(PEOPLE.values()) * 2)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        kiosk_answers = list(pool.map(lambda j: identify(j[0], kiosk, photo(j[1])), kiosk_jobs))
    for r in kiosk_answers:
        check(r.status_code == 200, f"kiosk: {r.status_code} {r.text[:300]}")
        check(r.json()["decision"] == "match", f"kiosk did not recognise: {r.json()}")

    # The chain: verifies on both, one event per position.
    events = int(sql("SELECT count(*) FROM attendance_events"))
    check(events == len(keys) + len(kiosk_jobs), f"{events} events for {len(keys)} punches and {len(kiosk_jobs)} kiosk matches")
    for base in REPLICAS:
        v = call(base, "GET", "/api/v1/attendance/chain/verify", admin, expect=200).json()
        check(v["ok"] is True and v["length"] == events, f"chain on {base}: {v}")
    forks = sql("SELECT count(*) FROM (SELECT prev_hash FROM attendance_events GROUP BY prev_hash HAVING count(*) > 1) f")
    check(forks == "0", f"{forks} chain positions have more than one event")
    print(f"two_replicas: chain of {events} events verifies on both replicas, no fork", file=sys.stderr)

    # Photos: in the bucket, and each event's photo readable through either replica.
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"], region_name=os.environ["AWS_DEFAULT_REGION"])
    objects = s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    check(objects >= events, f"{objects} objects in the bucket for {events} events")
    for event_id in [next(iter(e)) for e in list(by_key.values())[:6]]:
        bodies = [call(base, "GET", f"/api/v1/attendance/events/{event_id}/photo", admin, expect=200).content
                  for base in REPLICAS]
        check(bodies[0] == bodies[1] and len(bodies[0]) > 1000, f"photo of {event_id} differs between replicas")
    print(f"two_replicas: {objects} photos in S3, readable through both replicas", file=sys.stderr)

    # The per-account login limit counts failures from both replicas.
    limit = int(os.environ.get("REPLICA_LOGIN_MAX_FAILURES", "10"))
    for i in range(limit):
        login(REPLICAS[i % 2], "kit", "wrong-password", expect=401)
    for base in REPLICAS:
        r = login(base, "kit", PASSWORD, expect=429)
        check("retry-after" in {k.lower() for k in r.headers}, f"429 without Retry-After on {base}")
    print(f"two_replicas: {limit} failures across replicas lock the account on both", file=sys.stderr)

    # Refresh rotation across replicas: a token rotated on A is refused on B.
    pair = login(A, "rose", PASSWORD).json()
    rotated = call(B, "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}, expect=200).json()
    call(A, "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}, expect=401)
    # Reuse revokes the session: the rotated token is refused too.
    call(A, "POST", "/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}, expect=401)
    print("two_replicas: refresh rotation and reuse detection hold across replicas", file=sys.stderr)

    # Periodic jobs: both replicas schedule them, each period ran once.
    rows = sql("SELECT kind, count(*), count(*) FILTER (WHERE state = 'done' AND attempts = 1), count(DISTINCT unique_key) "
               "FROM jobs WHERE kind IN ('jobs.prune', 'locations.retention', 'privacy.retention') GROUP BY kind ORDER BY kind")
    seen = {}
    for line in rows.splitlines():
        kind, total, once, periods = line.split("|")
        seen[kind] = (int(total), int(once), int(periods))
        check(total == once == periods, f"periodic {kind}: {total} rows, {once} run once, {periods} periods")
    check(set(seen) == {"jobs.prune", "locations.retention", "privacy.retention"}, f"periodic jobs seen: {seen}")
    runs = int(sql("SELECT count(*) FROM audit_log WHERE action = 'retention.run'"))
    check(runs == seen["privacy.retention"][0], f"privacy retention audited {runs} times for {seen['privacy.retention'][0]} periods")
    print(f"two_replicas: periodic jobs ran once per period: {seen}", file=sys.stderr)
    print("two_replicas: ok", file=sys.stderr)


if __name__ == "__main__":
    main()
