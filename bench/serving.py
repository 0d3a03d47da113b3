"""Latency and throughput of the embedded server (`python -m serving.server`) on 127.0.0.1.

Exports a CNN-2C digits classifier (8x8x1 inputs, 10 classes, untrained) with
`explain_ig` (50 steps) and `explain_agi` (k = 9 false classes, m = 20 steps), then:

For batching off, then on (`--enable_batching`, `serving/batching.config`), it starts a
server subprocess and measures:
   - sequential requests (one client): p50 / p99 latency per signature and batch size,
     against the same SavedModel's signature function called in this process
     (`tf.saved_model.load(...).signatures[key]`); served and in-process calls alternate,
     so that both see the same load, and the ratio of their p50s is printed (JSON
     encoding, HTTP and parsing included: what a client sees);
   - `--clients` concurrent clients, each sending `--requests_per_client` requests of
     batch 1: throughput, p50 / p99, errors, and the server's resident memory before
     and after.

Every request goes to 127.0.0.1 and their number is bounded. Wall-clock numbers on a
shared machine vary; run it when the machine is quiet and compare ratios.

    python bench/serving.py [--requests 30] [--clients 32] [--requests_per_client 8]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import keras
import numpy as np
import psutil
import requests
import tensorflow as tf

from tfxai import export, models
from tfxai.attribution import AGI, IntegratedGradients

INPUT_SHAPE = (8, 8, 1)
SEQUENTIAL = [("serving_default", 1), ("serving_default", 32), ("explain_ig", 32), ("explain_agi", 32)]
CONCURRENT = ["serving_default", "explain_ig", "explain_agi"]


def _body(key: str, images: np.ndarray) -> bytes:
    inputs = {"images": images.tolist()}
    if key != "serving_default":
        inputs["targets"] = [-1] * len(images)
    return json.dumps({"signature_name": key, "inputs": inputs}).encode()


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    return float(np.percentile(seconds, 50) * 1e3), float(np.percentile(seconds, 99) * 1e3)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(base: str, batching: bool) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [sys.executable, "-m", "serving.server", "--model_name=digits", f"--model_base_path={base}",
               f"--rest_api_port={port}", "--file_system_poll_wait_seconds=0"]  # fmt: skip
    if batching:
        command += ["--enable_batching", f"--batching_parameters_file={REPO / 'serving' / 'batching.config'}"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if requests.get(f"{url}/v1/models/digits", timeout=5).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.5)


def _paired(url: str, signatures, key: str, batch: int, count: int) -> tuple[list[float], list[float]]:
    """Seconds of `count` served requests and `count` in-process calls, alternating."""
    images = np.random.default_rng(1).uniform(0, 1, (batch, *INPUT_SHAPE)).astype(np.float32)
    body, session = _body(key, images), requests.Session()
    feed = {"images": tf.constant(images)}
    if key != "serving_default":
        feed["targets"] = tf.fill([batch], -1)

    def served() -> None:
        session.post(f"{url}/v1/models/digits:predict", data=body, timeout=300).raise_for_status()

    def in_process() -> None:
        signatures[key](**feed)

    served(), in_process()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        for run, record in ((served, times[0]), (in_process, times[1])):
            start = time.perf_counter()
            run()
            record.append(time.perf_counter() - start)
    return times


def _concurrent(url: str, key: str, clients: int, per_client: int) -> dict[str, float]:
    """`clients` threads, each with its own connection, sending `per_client` batch-1 requests."""

    def client(index: int) -> tuple[list[float], int]:
        session, times, errors = requests.Session(), [], 0
        rng = np.random.default_rng(index)
        for _ in range(per_client):
            body = _body(key, rng.uniform(0, 1, (1, *INPUT_SHAPE)).astype(np.float32))
            start = time.perf_counter()
            response = session.post(f"{url}/v1/models/digits:predict", data=body, timeout=300)
            times.append(time.perf_counter() - start)
            errors += response.status_code != 200
        return times, errors

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    wall = time.perf_counter() - start
    times = [t for result in results for t in result[0]]
    p50, p99 = _percentiles(times)
    return {"throughput": len(times) / wall, "p50": p50, "p99": p99, "errors": sum(r[1] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30, help="sequential requests per signature and batch")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--requests_per_client", type=int, default=8, help="requests of each concurrent client")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = models.build("cnn2c", INPUT_SHAPE, 10, padding="same")
    workdir = tempfile.mkdtemp(prefix="bench-serving-")
    base = os.path.join(workdir, "digits")
    path = export.export_classifier(model, base, [IntegratedGradients(model), AGI(model)])
    signatures = tf.saved_model.load(path).signatures
    print(f"tensorflow {tf.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    for batching in (False, True):
        process, url = _start_server(base, batching)
        try:
            memory = psutil.Process(process.pid)
            rss_before = memory.memory_info().rss / 2**20
            print(f"\nserver, batching {'on (serving/batching.config)' if batching else 'off'}")
            print(f"  {'sequential':26s} {'p50 ms':>8s} {'p99 ms':>8s} {'in-process p50':>15s} {'ratio':>6s}")
            for key, batch in SEQUENTIAL:
                served, in_process = _paired(url, signatures, key, batch, args.requests)
                (p50, p99), (reference, _) = _percentiles(served), _percentiles(in_process)
                name = f"{key} batch {batch}"
                print(f"  {name:26s} {p50:8.2f} {p99:8.2f} {reference:15.2f} {p50 / reference:6.2f}")
            print(f"  {args.clients} clients x {args.requests_per_client} requests of batch 1:")
            print(f"  {'concurrent':28s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}")
            for key in CONCURRENT:
                result = _concurrent(url, key, args.clients, args.requests_per_client)
                print(f"  {key:28s} {result['throughput']:8.1f} {result['p50']:8.1f} {result['p99']:8.1f} "
                      f"{result['errors']:7d}")  # fmt: skip
            rss_after = memory.memory_info().rss / 2**20
            print(f"  server resident memory: {rss_before:.0f} MiB after start, {rss_after:.0f} MiB after the runs")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)


if __name__ == "__main__":
    main()
