#!/usr/bin/env python3
"""One Linear layer, ms per call: fp32 against int8 with dynamic activation scales (what lwm's int8 uses:
quantized::linear_dynamic, scales computed per call) and with static (calibrated) activation scales
(quantized::linear on an input quantized with a fixed scale, output requantized with a fixed scale, then
dequantized: the per-call work a calibrated int8 Linear does in a graph of fp32 ops around it).

Issue 11 asks for static scales if dynamic int8 cannot reach the eval-pass target; this measures whether
they could. Usage: bench/int8_linear_kinds.py [--threads 1] [--rounds 3] [--calls 300]
Prints a Markdown table; ratios are measured in one process, one shape after another.
"""
import argparse
import time

import torch


def best_ms(fn, x, rounds, calls):
    for _ in range(20):
        fn(x)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(x)
        best = min(best, (time.perf_counter() - t0) / calls * 1e3)
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--calls", type=int, default=300)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    torch.backends.quantized.engine = "x86"
    print(f"torch {torch.__version__}, engine x86, {a.threads} thread(s), best of {a.rounds} rounds of {a.calls} calls\n")
    print("| weight (in x out) | rows | fp32 linear | int8 dynamic | int8 static | dynamic/fp32 | static/fp32 | static/dynamic |")
    print("|---|---|---|---|---|---|---|---|")
    for (n_in, n_out), rows in [((256, 1024), 1), ((256, 256), 24), ((256, 1024), 24), ((1024, 256), 24),
                                ((256, 1024), 800), ((1024, 256), 800), ((384, 1536), 800)]:
        w = torch.randn(n_out, n_in) * 0.05
        b = torch.randn(n_out) * 0.01
        x = torch.randn(rows, n_in)
        # Per-channel int8 weights, as lwm packs them (compress/quantize.cpp).
        scales = w.abs().amax(dim=1).clamp(min=1e-8) / 127.0
        qw = torch.quantize_per_channel(w, scales, torch.zeros(n_out, dtype=torch.long), 0, torch.qint8)
        packed = torch.ops.quantized.linear_prepack(qw, b)
        # Static scales from "calibration": the input's and output's range, 7-bit activations as dynamic uses.
        in_scale = float(x.abs().max()) * 2 / 127.0
        in_zp = 64
        y = torch.nn.functional.linear(x, w, b)
        out_scale = float(y.abs().max()) * 2 / 255.0
        out_zp = 128

        def fp32(t):
            return torch.nn.functional.linear(t, w, b)

        def dynamic(t):
            return torch.ops.quantized.linear_dynamic(t, packed, True)

        def static(t):
            q = torch.quantize_per_tensor(t, in_scale, in_zp, torch.quint8)
            return torch.ops.quantized.linear(q, packed, out_scale, out_zp).dequantize()

        # Same answer within int8 error: the static path is a real int8 Linear, not a no-op.
        err = (static(x) - y).abs().max().item() / y.abs().max().item()
        assert err < 0.05, f"static int8 differs from fp32 by {err:.3f} of the output's range"
        f, d, s = (best_ms(fn, x, a.rounds, a.calls) for fn in (fp32, dynamic, static))
        print(f"| {n_in} x {n_out} | {rows} | {f:.3f} | {d:.3f} | {s:.3f} | {d / f:.2f} | {s / f:.2f} | {s / d:.2f} |")


if __name__ == "__main__":
    main()
