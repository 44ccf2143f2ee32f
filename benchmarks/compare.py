#!/usr/bin/env python3
"""Ember side by side with ONNX Runtime, OpenVINO and PyTorch eager, in one run.

For every model (the zoo in ../shared/models, plus resnet50 from build/zoo when it is
there or --make-resnet50 generates it) and every thread count (default 1 and 2), each
engine is timed in ROUNDS rounds that alternate the engines (the order rotates every
round), and the median of the per-round medians is reported:

  ember       build/ember bench MODEL --json --threads N (its own process)
  ember-bf16  the same with --precision bf16 (bf16 weights and activations in the oneDNN
              steps, fp32 accumulation), on hosts with AVX512-BF16 / AMX (--bf16 auto|on|off);
              reported in its own table against ORT's fp32
  ort         onnxruntime, intra_op_num_threads=N, inter_op_num_threads=1, sequential
  ov          OpenVINO CPU, LATENCY hint, INFERENCE_NUM_THREADS=N, default precision
              (bf16 on CPUs with AMX / AVX512-BF16)
  ov-f32      the same with INFERENCE_PRECISION_HINT=f32
  torch       PyTorch eager (Debian's python3-torch): the model rebuilt from
              ../shared/models/make_zoo.py (same seeds, same weights), torch.inference_mode

The Python engines are timed around each call in a Python loop and so pay per-call
overhead that Ember's C loop does not; each engine's overhead is measured on a one-node
Identity ONNX model (one Identity per input, same names, dtypes and shapes; for torch,
nn.Identity) and the ratio is also reported against (time - overhead).

Peak RSS: `ember bench` reports its own process's VmHWM; ORT's is measured in a fresh
process of this Python that imports numpy and onnxruntime (its VmHWM then is the
"import" baseline), runs the model as often as a measurement does, and reports VmHWM.

Also: the machine's single-thread SGEMM peak (numpy on OpenBLAS, 2048^3) and each Ember
model's achieved GFLOP/s (FLOPs from `ember info --json`).

Writes benchmarks/results.json and benchmarks/ratios.png. See benchmarks/README.md.
"""
import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PEERS = ("ort", "ov", "ov-f32", "torch")
LABEL = {"ember": "Ember", "ember-bf16": "Ember-bf16", "ort": "ORT", "ov": "OV", "ov-f32": "OV-f32", "torch": "Torch"}

ONNX_DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- helpers
def median_of(ts):
    return statistics.median(ts) if ts else float("nan")


def time_loop(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return median_of(ts)


def cpu_busy(interval=0.5):
    """Fraction of the machine's CPU time spent busy over `interval` seconds."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + (v[4] if len(v) > 4 else 0)
    t0, i0 = snap()
    time.sleep(interval)
    t1, i1 = snap()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_idle(max_wait, busy_max=0.25):
    """Waits (at most max_wait s) until something else stops using the CPU; returns the
    last busy fraction seen. A shared machine otherwise corrupts single measurements."""
    t_end = time.time() + max_wait
    busy = cpu_busy()
    while busy > busy_max and time.time() < t_end:
        busy = cpu_busy(1.0)
    return busy


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0 and math.isfinite(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def host_has_bf16():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and ({"avx512_bf16", "amx_bf16"} & set(line.split()))
                       for line in f)
    except OSError:
        return False


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    fl = line.split(":", 1)[1].split()
                    return sorted(x for x in fl if x.startswith(("avx", "amx", "fma")))
    except OSError:
        pass
    return []


# ---------------------------------------------------------------------------- models
def model_inputs(path):
    """[(name, numpy dtype, shape)] of the graph inputs that are not initializers."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    out = []
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = []
        for d in tt.shape.dim:
            if not d.HasField("dim_value"):
                raise RuntimeError("%s: input %s has a symbolic dimension" % (path, vi.name))
            shape.append(d.dim_value)
        out.append((vi.name, ONNX_DTYPES[tt.elem_type], tuple(shape), tt.elem_type))
    return out


def make_feeds(inputs, int_high=100):
    rs = np.random.RandomState(0)
    feeds = {}
    for name, dt, shape, _ in inputs:
        if np.issubdtype(dt, np.integer):
            feeds[name] = rs.randint(0, int_high, size=shape).astype(dt)
        elif dt == np.bool_:
            feeds[name] = rs.randint(0, 2, size=shape).astype(dt)
        else:
            feeds[name] = rs.standard_normal(shape).astype(dt)
    return feeds


def identity_model(inputs, path):
    """One Identity per input: what a call costs with (almost) nothing to compute."""
    import onnx
    from onnx import helper
    ins, outs, nodes = [], [], []
    for i, (name, _, shape, et) in enumerate(inputs):
        ins.append(helper.make_tensor_value_info(name, et, list(shape)))
        outs.append(helper.make_tensor_value_info("identity_out_%d" % i, et, list(shape)))
        nodes.append(helper.make_node("Identity", [name], ["identity_out_%d" % i], name="identity_%d" % i))
    g = helper.make_graph(nodes, "identity", ins, outs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="ember-bench")
    m.ir_version = 7
    onnx.save(m, path)
    return path


def find_models(args):
    models = []
    only = set(args.models.split(",")) if args.models else None
    for d in sorted(os.listdir(args.models_dir)):
        p = os.path.join(args.models_dir, d, "model.onnx")
        if os.path.isfile(p) and (only is None or d in only):
            models.append((d, p))
    r50 = os.path.join(args.zoo_dir, "resnet50", "model.onnx")
    want_r50 = not args.no_resnet50 and (only is None or "resnet50" in only)
    if want_r50 and not os.path.isfile(r50) and args.make_resnet50:
        make_zoo = os.path.join(args.models_dir, "make_zoo.py")
        log("generating resnet50 into %s (make_zoo.py, Debian's PyTorch) ..." % args.zoo_dir)
        r = subprocess.run(["/usr/bin/python3", make_zoo, "--out", args.zoo_dir, "--only", "resnet50",
                            "--skip-bench"], capture_output=True, text=True)
        if r.returncode != 0:
            log("NOTE: resnet50 not generated (needs python3-torch, python3-torchvision, python3-onnx):\n  "
                + (r.stderr.strip().splitlines() or ["?"])[-1])
    if want_r50:
        if os.path.isfile(r50):
            models.append(("resnet50", r50))
        else:
            log("NOTE: no resnet50 at %s (run with --make-resnet50 to generate it)" % r50)
    return models


# ---------------------------------------------------------------------------- engines
class Ember:
    def __init__(self, exe, path, threads, iters, warmup, precision="fp32"):
        self.cmd = [exe, "bench", path, "--json", "--threads", str(threads), "--iters", str(iters),
                    "--warmup", str(warmup), "--precision", precision]
        self.last = None

    def measure(self):
        r = subprocess.run(self.cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ember bench failed: %s" % r.stderr.strip())
        self.last = json.loads(r.stdout)
        return self.last["median_ms"]


class Ort:
    def __init__(self, path, feeds, threads):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.feeds = feeds

    def call(self):
        self.s.run(None, self.feeds)


class OpenVino:
    def __init__(self, path, feeds, threads, f32):
        import openvino as ov
        core = OpenVino.core = getattr(OpenVino, "core", None) or ov.Core()
        cfg = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1}
        if f32:
            cfg["INFERENCE_PRECISION_HINT"] = "f32"
        self.c = core.compile_model(path, "CPU", cfg)
        prec = self.c.get_property("INFERENCE_PRECISION_HINT")
        self.precision = prec.get_type_name() if hasattr(prec, "get_type_name") else str(prec)
        self.req = self.c.create_infer_request()
        self.feeds = feeds

    def call(self):
        self.req.infer(self.feeds)


class Torch:
    zoo = None

    def __init__(self, name, feeds, threads, models_dir):
        import torch
        self.torch = torch
        if Torch.zoo is None:
            spec = importlib.util.spec_from_file_location("make_zoo", os.path.join(models_dir, "make_zoo.py"))
            Torch.zoo = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(Torch.zoo)
        z = Torch.zoo
        if name not in z.ZOO:
            raise RuntimeError("%s is not in make_zoo.py" % name)
        torch.manual_seed(0)
        self.m = z.ZOO[name]["build"]().eval()
        z.randomize_bn(self.m)
        torch.set_num_threads(threads)
        self.x = [torch.from_numpy(v) for v in feeds.values()]

    def call(self):
        with self.torch.inference_mode():
            self.m(*self.x)


class TorchIdentity:
    def __init__(self, feeds, threads):
        import torch
        self.torch = torch
        self.m = torch.nn.Identity().eval()
        torch.set_num_threads(threads)
        self.x = [torch.from_numpy(v) for v in feeds.values()]

    def call(self):
        with self.torch.inference_mode():
            self.m(*self.x)


def available_peers(wanted):
    got = []
    for p in wanted:
        mod = {"ort": "onnxruntime", "ov": "openvino", "ov-f32": "openvino", "torch": "torch"}[p]
        try:
            importlib.import_module(mod)
            if p == "torch":
                importlib.import_module("torchvision")
            got.append(p)
        except Exception as e:  # noqa: BLE001 - any import failure means "skip"
            log("NOTE: skipping %s: cannot import %s (%s)" % (LABEL[p], mod, e))
    return got


def make_peer(p, name, path, feeds, threads, models_dir):
    if p == "ort":
        return Ort(path, feeds, threads)
    if p in ("ov", "ov-f32"):
        return OpenVino(path, feeds, threads, p == "ov-f32")
    if p == "torch":
        return Torch(name, feeds, threads, models_dir)
    raise ValueError(p)


def make_overhead_peer(p, id_path, feeds, threads):
    if p == "torch":
        return TorchIdentity(feeds, threads)
    return make_peer(p, "identity", id_path, feeds, threads, None)


# ---------------------------------------------------------------------------- machine
SGEMM_SCRIPT = r"""
import time, numpy as np
n = %d
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
c = a @ b
best = 1e9
for _ in range(5):
    t0 = time.perf_counter(); c = a @ b; best = min(best, time.perf_counter() - t0)
libs = sorted({l.split()[-1].rsplit("/", 1)[-1] for l in open("/proc/self/maps") if "blas" in l.lower() and "/" in l})
print(2.0 * n ** 3 / best / 1e9)
print(" ".join(l for l in libs if "openblas" in l or "mkl" in l or "blis" in l) or " ".join(libs))
"""


SETTLE_S = 0.1  # pause before each engine's measurement (see bench_pair)


def sgemm_peak(n=2048):
    """Single-thread SGEMM GFLOP/s with numpy's BLAS, in a child process so that the
    thread limits do not leak into the engines measured here."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", SGEMM_SCRIPT % n], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        log("NOTE: SGEMM peak not measured: " + r.stderr.strip()[-300:])
        return None, None
    lines = r.stdout.strip().splitlines()
    return float(lines[0]), (lines[1] if len(lines) > 1 else "")


def fma_peak(tmpdir):
    """Single-thread fp32 FMA throughput (fma_peak.c, built here with cc): the bound of
    any fp32 kernel on one core, above what a BLAS SGEMM reaches. (GFLOP/s, vector bits)
    or (None, None) when no compiler or no AVX2/AVX-512."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fma_peak.c")
    exe = os.path.join(tmpdir, "fma_peak")
    for flags in (["-mavx512f"], ["-mavx2", "-mfma"]):
        b = subprocess.run(["cc", "-O2"] + flags + ["-o", exe, src], capture_output=True, text=True)
        if b.returncode != 0:
            continue
        r = subprocess.run([exe], capture_output=True, text=True)
        if r.returncode == 0:  # an unsupported ISA dies with SIGILL: try the next
            v = r.stdout.split()
            return float(v[0]), int(v[1])
    log("NOTE: FMA peak not measured (no cc, or no AVX2/AVX-512)")
    return None, None


# Peak RSS of ONNX Runtime for one model, in a fresh process of this same Python: import
# numpy and onnxruntime (VmHWM then = the import baseline), create the session with the
# benchmark's options, run it warm-up + iters times on the same feeds, report VmHWM.
# VmHWM rather than ru_maxrss: the latter survives execve and would include this harness.
ORT_RSS_SCRIPT = r"""
import json, sys
def hwm():
    with open("/proc/self/status") as f:
        for l in f:
            if l.startswith("VmHWM:"):
                return int(l.split()[1]) / 1024.0
import numpy as np
import onnxruntime as ort
base = hwm()
path, feeds_path, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
peak = None
if path != "-":
    feeds = dict(np.load(feeds_path))
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    for _ in range(runs):
        s.run(None, feeds)
    peak = hwm()
print(json.dumps({"import_rss_mb": base, "peak_rss_mb": peak}))
"""


def ort_peak_rss(path, feeds, threads, runs, tmpdir):
    """(peak, import baseline) in MB of a fresh ORT process running the model; path "-":
    only the baseline (python + numpy + onnxruntime imported)."""
    feeds_path = os.path.join(tmpdir, "rss_feeds.npz")
    np.savez(feeds_path, **feeds)
    r = subprocess.run([sys.executable, "-c", ORT_RSS_SCRIPT, path, feeds_path, str(threads), str(runs)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log("NOTE: ORT peak RSS not measured: " + r.stderr.strip()[-300:])
        return None, None
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return d["peak_rss_mb"], d["import_rss_mb"]


def ember_flops(exe, path):
    r = subprocess.run([exe, "info", path, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout).get("flops")
    except ValueError:
        return None


# ---------------------------------------------------------------------------- main
def bench_pair(args, name, path, threads, peers, tmpdir):
    inputs = model_inputs(path)
    feeds = make_feeds(inputs, int_high=8000 if name == "bert_tiny_like" else 100)
    # Iterations from a quick Ember calibration: about --target-s seconds a measurement.
    cal = Ember(args.ember, path, threads, 3, 1)
    cal.measure()
    est = max(cal.last["median_ms"], 1e-3)
    iters = int(min(args.max_iters, max(args.min_iters, args.target_s * 1e3 / est)))
    warmup = max(2, min(10, iters // 10))
    log("%s, %d thread%s: %d iters, %d warm-up (Ember ~%.2f ms)" % (name, threads, "s" if threads > 1 else "",
                                                                 iters, warmup, est))
    engines = {"ember": Ember(args.ember, path, threads, iters, warmup)}
    if args.bf16_on:
        engines["ember-bf16"] = Ember(args.ember, path, threads, iters, warmup, "bf16")
    notes = {}
    for p in peers:
        try:
            engines[p] = make_peer(p, name, path, feeds, threads, args.models_dir)
        except Exception as e:  # noqa: BLE001 - a peer that cannot run this model is skipped
            notes[p] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
            log("NOTE: %s skipped on %s: %s" % (LABEL[p], name, notes[p]))
    order = list(engines)
    rounds = {k: [] for k in engines}
    busy = []
    for r in range(args.rounds):
        busy.append(wait_idle(args.idle_wait) if args.idle_wait > 0 else None)
        k = r % len(order)
        for e in order[k:] + order[:k]:
            eng = engines[e]
            # Each engine starts on idle cores: the last one's worker threads (OpenMP,
            # TBB, ORT's pool) spin for a few ms after its last call and would share a
            # core with this one's second thread (torch's libgomp spins 4.5 ms here).
            time.sleep(SETTLE_S)
            ms = eng.measure() if e.startswith("ember") else time_loop(eng.call, iters, warmup)
            rounds[e].append(ms)
    # per-call overhead of each Python peer, on the Identity model with the same inputs
    overhead = {}
    id_path = identity_model(inputs, os.path.join(tmpdir, "identity_%s.onnx" % name))
    for p in engines:
        if p.startswith("ember"):
            continue
        try:
            o = make_overhead_peer(p, id_path, feeds, threads)
            overhead[p] = min(time_loop(o.call, 300, 30) for _ in range(2))
        except Exception as e:  # noqa: BLE001
            log("NOTE: no overhead for %s: %s" % (LABEL[p], e))
    ort_rss = ort_peak_rss(path, feeds, threads, warmup + iters, tmpdir) if "ort" in engines else (None, None)
    row = {"model": name, "threads": threads, "iters": iters, "warmup": warmup,
           "loadavg_1min": os.getloadavg()[0], "cpu_busy_before_rounds": busy, "engines": {}, "notes": notes}
    em = median_of(rounds["ember"])
    for e, ts in rounds.items():
        ms = median_of(ts)
        d = {"median_ms": ms, "rounds_ms": ts}
        if e.startswith("ember"):
            last = engines[e].last
            d.update(compile_ms=last["compile_ms"], create_ms=last["create_ms"], peak_rss_mb=last["peak_rss_mb"],
                     p90_ms=last["p90_ms"], min_ms=last["min_ms"], backend=last["backend"])
        else:
            ov = overhead.get(e)
            corr = ms - ov if ov is not None and ms - ov > 0 else None
            d.update(overhead_ms=ov, corrected_ms=corr, ratio=em / ms,
                     ratio_corrected=em / corr if corr else None)
            if e in ("ov", "ov-f32"):
                d["precision"] = engines[e].precision
            if e == "ort":
                d["peak_rss_mb"], d["import_rss_mb"] = ort_rss
        row["engines"][e] = d
    return row


def fmt(x, nd=2):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.*f" % (nd if abs(x) >= 0.1 else 3, x)


def print_rows(lines, out):
    w = [max(len(l[i]) for l in lines) for i in range(len(lines[0]))]
    for k, l in enumerate(lines):
        print("  ".join(x.ljust(w[i]) if i == 0 else x.rjust(w[i]) for i, x in enumerate(l)), file=out)
        if k == 0 or (k + 1 < len(lines) and lines[k + 1][0] == "geomean" and l[0] != "geomean"):
            print("  ".join("-" * x for x in w), file=out)


def print_table(rows, peers, out=sys.stdout):
    """Two tables: latencies (ms), then Ember's ratio to each peer with geometric means."""
    cols = ["model", "thr", "Ember", "GFLOP/s"]
    for p in peers:
        cols += [LABEL[p], LABEL[p] + "-c"]
    lines = [cols]
    for r in rows:
        e = r["engines"]["ember"]
        line = [r["model"], str(r["threads"]), fmt(e["median_ms"]), fmt(e.get("gflops"), 1)]
        for p in peers:
            d = r["engines"].get(p)
            line += [fmt(d["median_ms"]), fmt(d["corrected_ms"])] if d else ["-", "-"]
        lines.append(line)
    print_rows(lines, out)
    print("\nEmber / peer latency (>1: Ember slower); -c: against the peer minus its overhead\n", file=out)
    cols = ["model", "thr"]
    for p in peers:
        cols += ["E/" + LABEL[p], "E/%s-c" % LABEL[p]]
    lines = [cols]
    for r in rows:
        line = [r["model"], str(r["threads"])]
        for p in peers:
            d = r["engines"].get(p)
            line += [fmt(d["ratio"]), fmt(d["ratio_corrected"])] if d else ["-", "-"]
        lines.append(line)
    for t in sorted({r["threads"] for r in rows}):
        sub = [r for r in rows if r["threads"] == t]
        line = ["geomean", str(t)]
        for p in peers:
            line += [fmt(geomean([r["engines"][p]["ratio"] for r in sub if p in r["engines"]])),
                     fmt(geomean([r["engines"][p]["ratio_corrected"] for r in sub if p in r["engines"]]))]
        lines.append(line)
    print_rows(lines, out)


def print_rss_table(rows, out=sys.stdout):
    """Peak RSS of each engine's process: `ember bench` against a fresh ORT process that
    ran the same model as often; ORT-import is that process before the model (python,
    numpy and onnxruntime imported), ORT-model the difference."""
    lines = [["model", "thr", "Ember", "ORT", "Ember/ORT", "ORT-import", "ORT-model"]]
    for r in rows:
        e, o = r["engines"]["ember"], r["engines"].get("ort") or {}
        er, orr, base = e.get("peak_rss_mb"), o.get("peak_rss_mb"), o.get("import_rss_mb")
        lines.append([r["model"], str(r["threads"]), fmt(er, 1), fmt(orr, 1),
                      fmt(er / orr) if er and orr else "-", fmt(base, 1),
                      fmt(orr - base, 1) if orr and base else "-"])
    if all(l[3] == "-" for l in lines[1:]):
        return
    print("\npeak RSS (MB, VmHWM of each engine's own process)\n", file=out)
    print_rows(lines, out)


def print_bf16_table(rows, out=sys.stdout):
    """Ember in bf16 against ORT in fp32 (and Ember fp32): the speed-up bf16 buys."""
    lines = [["model", "thr", "Ember-bf16", "Ember", "ORT", "ORT/Ember-bf16", "Ember/Ember-bf16"]]
    for r in rows:
        e = r["engines"]
        b = e.get("ember-bf16")
        if not b:
            continue
        o = e.get("ort")
        lines.append([r["model"], str(r["threads"]), fmt(b["median_ms"]), fmt(e["ember"]["median_ms"]),
                      fmt(o["median_ms"]) if o else "-", fmt(o["median_ms"] / b["median_ms"]) if o else "-",
                      fmt(e["ember"]["median_ms"] / b["median_ms"])])
    if len(lines) == 1:
        return
    print("\nEmber --precision bf16 vs ORT fp32 (speed-ups, >1: Ember-bf16 faster)\n", file=out)
    print_rows(lines, out)


def chart(rows, peers, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001
        log("NOTE: no chart (matplotlib: %s)" % e)
        return False
    threads = sorted({r["threads"] for r in rows})
    fig, axes = plt.subplots(len(threads), 1, figsize=(13, 4.2 * len(threads)), squeeze=False)
    for ax, t in zip(axes[:, 0], threads):
        sub = [r for r in rows if r["threads"] == t]
        names = [r["model"] for r in sub]
        width = 0.8 / max(1, len(peers))
        for j, p in enumerate(peers):
            vals = [(r["engines"].get(p) or {}).get("ratio_corrected") or (r["engines"].get(p) or {}).get("ratio")
                    or 0 for r in sub]
            xs = [i + (j - (len(peers) - 1) / 2) * width for i in range(len(sub))]
            ax.bar(xs, vals, width, label="Ember / %s" % LABEL[p])
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(sub)))
        ax.set_xticklabels(names, rotation=20, ha="right")
        ax.set_ylabel("latency ratio (>1: Ember slower)")
        ax.set_title("Ember latency / peer latency (peer minus per-call overhead), %d thread%s"
                     % (t, "s" if t > 1 else ""))
        ax.legend(fontsize=8, ncol=len(peers))
        ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ember", default=os.path.join(ROOT, "build", "ember"), help="the ember binary")
    ap.add_argument("--models-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "models"))
    ap.add_argument("--zoo-dir", default=os.path.join(ROOT, "build", "zoo"), help="where resnet50 is (generated)")
    ap.add_argument("--make-resnet50", action="store_true", help="generate resnet50 with make_zoo.py if missing")
    ap.add_argument("--no-resnet50", action="store_true")
    ap.add_argument("--models", default="", help="comma-separated subset")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--peers", default=",".join(PEERS), help="subset of " + ",".join(PEERS))
    ap.add_argument("--target-s", type=float, default=1.5, help="seconds per measurement (sets iterations)")
    ap.add_argument("--min-iters", type=int, default=30)
    ap.add_argument("--max-iters", type=int, default=200)
    ap.add_argument("--idle-wait", type=float, default=30,
                    help="before each round, wait up to this many seconds for the CPU to be idle (0: don't)")
    ap.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                    help="also time Ember with --precision bf16 (auto: when the CPU has AVX512-BF16/AMX)")
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--chart", default=os.path.join(HERE, "ratios.png"))
    args = ap.parse_args()
    if not os.access(args.ember, os.X_OK):
        sys.exit("no ember binary at %s (build it, or give --ember)" % args.ember)
    threads = [int(t) for t in args.threads.split(",")]
    args.bf16_on = args.bf16 == "on" or (args.bf16 == "auto" and host_has_bf16())
    peers = available_peers([p for p in args.peers.split(",") if p])
    models = find_models(args)
    if not models:
        sys.exit("no models found in %s" % args.models_dir)

    if args.idle_wait > 0:
        wait_idle(args.idle_wait)
    peak, blas = sgemm_peak()
    if peak:
        log("single-thread SGEMM peak (numpy, 2048^3): %.1f GFLOP/s [%s]" % (peak, blas))
    with tempfile.TemporaryDirectory() as tmp:
        fpeak, fbits = fma_peak(tmp)
    if fpeak:
        log("single-thread FMA peak (%d-bit): %.1f GFLOP/s" % (fbits, fpeak))
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("onnxruntime", "openvino", "torch"):
        try:
            versions[mod] = importlib.import_module(mod).__version__
        except Exception:  # noqa: BLE001
            pass
    t_start = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in models:
            flops = ember_flops(args.ember, path)
            for t in threads:
                try:
                    row = bench_pair(args, name, path, t, peers, tmp)
                except Exception as e:  # noqa: BLE001 - report and go on with the next model
                    log("NOTE: %s, %d threads failed: %s" % (name, t, e))
                    continue
                row["flops"] = flops
                e = row["engines"]["ember"]
                e["gflops"] = flops / (e["median_ms"] * 1e6) if flops else None
                if peak and e["gflops"] and t == 1:
                    e["share_of_sgemm_peak"] = e["gflops"] / peak
                if fpeak and e["gflops"] and t == 1:
                    e["share_of_fma_peak"] = e["gflops"] / fpeak
                rows.append(row)
    shown = [p for p in peers if any(p in r["engines"] for r in rows)]
    print("\nlatency (ms), median of %d per-round medians; X-c: X minus its per-call overhead "
          "(Identity model)\n" % args.rounds)
    print_table(rows, shown)
    print_rss_table(rows)
    print_bf16_table(rows)
    if peak:
        print("\nsingle-thread SGEMM peak: %.1f GFLOP/s (numpy 2048^3, %s)" % (peak, blas or "?"))
        for r in rows:
            e = r["engines"]["ember"]
            if r["threads"] == 1 and e.get("gflops"):
                print("  %-20s %7.2f GFLOP/s  (%4.1f%% of peak%s)" % (
                    r["model"], e["gflops"], 100 * e["share_of_sgemm_peak"],
                    ", %4.1f%% of the FMA peak" % (100 * e["share_of_fma_peak"]) if e.get("share_of_fma_peak") else ""))
    if fpeak:
        print("single-thread FMA peak: %.1f GFLOP/s (%d-bit fused multiply-adds, fma_peak.c)" % (fpeak, fbits))
    ov_prec = sorted({d.get("precision") for r in rows for k, d in r["engines"].items() if k == "ov"} - {None})
    if ov_prec:
        print("OpenVINO default inference precision here: %s" % ", ".join(ov_prec))
    summary = {}
    for t in threads:
        for p in shown:
            sub = [r["engines"][p] for r in rows if r["threads"] == t and p in r["engines"]]
            summary["%s_t%d" % (p, t)] = {"geomean_ratio": geomean([d["ratio"] for d in sub]),
                                          "geomean_ratio_corrected": geomean([d["ratio_corrected"] for d in sub])}
        bf = [r for r in rows if r["threads"] == t and "ember-bf16" in r["engines"] and "ort" in r["engines"]]
        if bf:
            summary["ember_bf16_vs_ort_t%d" % t] = {
                "geomean_speedup": geomean([r["engines"]["ort"]["median_ms"] / r["engines"]["ember-bf16"]["median_ms"]
                                            for r in bf])}
    res = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "host": platform.node(),
           "cpu": cpu_name(), "cpu_flags": cpu_flags(), "cores": os.cpu_count(), "versions": versions,
           "ember": os.path.abspath(args.ember), "rounds": args.rounds, "threads": threads,
           "sgemm_peak_gflops_1thread": peak, "sgemm_blas": blas, "fma_peak_gflops_1thread": fpeak, "seconds": round(time.time() - t_start, 1),
           "summary": summary, "rows": rows}
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    print("\nwrote %s" % args.out)
    if chart(rows, shown, args.chart):
        print("wrote %s" % args.chart)


if __name__ == "__main__":
    main()
