#!/usr/bin/python3
"""Self-check of the decoder families in tools/reference_models.py against independent formulations.

Usage (Debian's PyTorch 1.13):  /usr/bin/python3 tools/reference_selfcheck.py

For GPT-2 and OPT (several variants each) the eager model from reference_models.py is compared with a
second implementation written here directly from the state dict with plain tensor ops: LayerNorm from mean
and variance, masks as boolean "allowed" tables filled with -inf, tanh-GELU from F.gelu(approximate="tanh"),
OPT positions as arange + 2 on right-padded rows, and the last real token as attention_mask.sum - 1. Prints
one line per variant and exits 1 if any max |difference| exceeds 1e-5 times max(1, the largest |output|).
"""

import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_reference as er  # noqa: E402
import reference_models as rm  # noqa: E402

TOLERANCE = 1e-5


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def attention(q, k, v, heads, allowed, bias=None, scale=1.0):
    """q [B,T,C], k/v [B,S,C]; allowed [B or 1, 1, T, S] bool; bias [1, heads, T, S] or None."""
    B, T, C = q.shape
    S = k.shape[1]
    D = C // heads
    q = q.reshape(B, T, heads, D).transpose(1, 2)
    k = k.reshape(B, S, heads, D).transpose(1, 2)
    v = v.reshape(B, S, heads, D).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) * scale
    if bias is not None:
        s = s + bias
    s = s.masked_fill(~allowed, float("-inf"))
    return (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)


def gpt2_manual(sd, cfg, ids, mask, lm=False):
    B, T = ids.shape
    x = sd["transformer.wte.weight"][ids] + sd["transformer.wpe.weight"][:T]
    C = cfg.n_embd
    allowed = torch.ones(T, T).tril().bool()[None, None] & mask.bool()[:, None, None, :]
    for i in range(cfg.n_layer):
        p = f"transformer.h.{i}."
        h = layer_norm(x, sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], 1e-5)
        qkv = h @ sd[p + "attn.c_attn.weight"] + sd[p + "attn.c_attn.bias"]  # Conv1D: x @ W[in, out]
        a = attention(qkv[..., :C], qkv[..., C : 2 * C], qkv[..., 2 * C :], cfg.n_head, allowed,
                      scale=1.0 / math.sqrt(C // cfg.n_head))
        x = x + a @ sd[p + "attn.c_proj.weight"] + sd[p + "attn.c_proj.bias"]
        h = layer_norm(x, sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], 1e-5)
        h = F.gelu(h @ sd[p + "mlp.c_fc.weight"] + sd[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + h @ sd[p + "mlp.c_proj.weight"] + sd[p + "mlp.c_proj.bias"]
    x = layer_norm(x, sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"], 1e-5)
    if lm:
        return x @ sd["transformer.wte.weight"].t()
    logits = x @ sd["score.weight"].t()
    return logits[torch.arange(B), mask.sum(1) - 1]


def opt_manual(sd, cfg, ids, mask):
    B, T = ids.shape
    p0 = "model.decoder."
    x = sd[p0 + "embed_tokens.weight"][ids]
    if cfg.word_embed_proj_dim != cfg.hidden_size:
        x = x @ sd[p0 + "project_in.weight"].t()
    positions = torch.where(mask.bool(), torch.arange(T)[None, :] + 2, torch.ones_like(ids))  # right padding
    x = x + sd[p0 + "embed_positions.weight"][positions]
    allowed = torch.ones(T, T).tril().bool()[None, None] & mask.bool()[:, None, None, :]
    pre = cfg.do_layer_norm_before

    def lin(h, name):
        return h @ sd[name + ".weight"].t() + sd[name + ".bias"]

    def ln(h, name):
        return layer_norm(h, sd[name + ".weight"], sd[name + ".bias"], 1e-5)

    for i in range(cfg.num_hidden_layers):
        p = f"{p0}layers.{i}."
        h = ln(x, p + "self_attn_layer_norm") if pre else x
        a = attention(lin(h, p + "self_attn.q_proj"), lin(h, p + "self_attn.k_proj"), lin(h, p + "self_attn.v_proj"),
                      cfg.num_attention_heads, allowed, scale=(cfg.hidden_size // cfg.num_attention_heads) ** -0.5)
        x = x + lin(a, p + "self_attn.out_proj")
        if not pre:
            x = ln(x, p + "self_attn_layer_norm")
        h = ln(x, p + "final_layer_norm") if pre else x
        x = x + lin(torch.relu(lin(h, p + "fc1")), p + "fc2")
        if not pre:
            x = ln(x, p + "final_layer_norm")
    if pre:
        x = ln(x, p0 + "final_layer_norm")
    else:
        assert p0 + "final_layer_norm.weight" not in sd  # HF: no decoder final_layer_norm when post-LN
    if cfg.word_embed_proj_dim != cfg.hidden_size:
        x = x @ sd[p0 + "project_out.weight"].t()
    logits = x @ sd["score.weight"].t()
    return logits[torch.arange(B), mask.sum(1) - 1]


VARIANTS = [
    ("gpt2", {}, None),
    ("gpt2", {}, "lm"),
    ("opt", {}, None),
    ("opt", {"post_ln": True}, None),
    ("opt", {"word_embed_proj_dim": 32}, None),
]


def main() -> int:
    torch.manual_seed(0)
    failed = False
    for family, options, head in VARIANTS:
        args = er.parse_args(["--family", family, "--vocab", "1000", "--layers", "3", "--labels", "3", "--out", "-"])
        config = rm.make_config(family, 3, 64, 4, 128, 1000, 128, 3, **options)
        model = rm.build_model(family, config, head=head)
        rm.perturb_norms(model)
        rm.perturb_biases(model)
        model.eval()
        sd = {k: v.detach() for k, v in model.state_dict().items()}
        batches = er.Batches(args, config)
        gen = torch.Generator().manual_seed(1)
        worst = scale = 0.0
        with torch.no_grad():
            for lengths in ([8, 5], [1, 17, 9], [40, 40]):
                batch = batches.make(gen, lengths)
                got = model(*batch)
                if family == "gpt2":
                    want = (gpt2_manual(sd, config, *batch, lm=head == "lm"),)
                else:
                    want = (opt_manual(sd, config, *batch),)
                for g, w in zip(got, want):
                    if head == "lm":  # LM logits: only rows' real positions are defined
                        keep = batch[1].bool()
                        g, w = g[keep], w[keep]
                    worst = max(worst, (g - w).abs().max().item())
                    scale = max(scale, w.abs().max().item())
        ok = worst <= TOLERANCE * max(1.0, scale)
        failed |= not ok
        print(f"{'ok  ' if ok else 'FAIL'} {type(model).__name__:30s} {str(options):48s} "
              f"max_abs_diff {worst:.3g} (max |logit| {scale:.3g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
