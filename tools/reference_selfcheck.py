#!/usr/bin/python3
"""Self-check of the decoder families in tools/reference_models.py against independent formulations.

Usage (Debian's PyTorch 1.13):  /usr/bin/python3 tools/reference_selfcheck.py

For GPT-2, OPT and T5 (several variants each) the eager model from reference_models.py is compared with a
second implementation written here directly from the state dict with plain tensor ops: LayerNorm from mean
and variance, masks as boolean "allowed" tables filled with -inf, tanh-GELU from F.gelu(approximate="tanh"),
OPT positions as arange + 2 on right-padded rows, T5 relative buckets computed one (query, key) pair at a
time with Mesh TensorFlow's scalar rule, and the last real token as attention_mask.sum - 1. Prints one line
per variant and exits 1 if any max |difference| exceeds 1e-5 times max(1, the largest |output|) (an untied
T5 lm_head draws N(0, 1) weights, so its logits are ~10 and float32 rounding of the two orders of
operations differs by ~1e-5 there).
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


def rms_norm(x, w, eps=1e-6):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


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


def mesh_tf_bucket(relative_position, bidirectional, num_buckets=32, max_distance=128):
    """Mesh TensorFlow's _relative_position_bucket for one relative position (key - query), with n = -rel;
    the log is taken in float32 as HF does."""
    ret = 0
    n = -relative_position
    if bidirectional:
        num_buckets //= 2
        if n < 0:
            ret += num_buckets
        n = abs(n)
    else:
        n = max(n, 0)
    max_exact = num_buckets // 2
    if n < max_exact:
        return ret + n
    ratio = torch.log(torch.tensor(n, dtype=torch.float32) / max_exact) / math.log(max_distance / max_exact)
    val = max_exact + int((ratio * (num_buckets - max_exact)).item())
    return ret + min(val, num_buckets - 1)


def t5_bias(table, T, S, bidirectional):
    buckets = torch.tensor([[mesh_tf_bucket(j - i, bidirectional) for j in range(S)] for i in range(T)])
    return table[buckets].permute(2, 0, 1)[None]  # [1, heads, T, S]


def t5_manual(sd, cfg, ids, mask, dec):
    heads = cfg.num_heads

    def ff(h, p):
        if cfg.is_gated_act:
            h = F.gelu(h @ sd[p + "wi_0.weight"].t(), approximate="tanh") * (h @ sd[p + "wi_1.weight"].t())
        else:
            h = torch.relu(h @ sd[p + "wi.weight"].t())
        return h @ sd[p + "wo.weight"].t()

    def attn(h, kv, p, allowed, bias):
        q, k, v = (h @ sd[p + "q.weight"].t(), kv @ sd[p + "k.weight"].t(), kv @ sd[p + "v.weight"].t())
        return attention(q, k, v, heads, allowed, bias=bias) @ sd[p + "o.weight"].t()

    B, S = ids.shape
    T = dec.shape[1]
    # encoder
    x = sd["shared.weight"][ids]
    enc_allowed = mask.bool()[:, None, None, :]
    bias = t5_bias(sd["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], S, S, True)
    for i in range(cfg.num_layers):
        p = f"encoder.block.{i}.layer."
        x = x + attn(rms_norm(x, sd[p + "0.layer_norm.weight"]), rms_norm(x, sd[p + "0.layer_norm.weight"]),
                     p + "0.SelfAttention.", enc_allowed, bias)
        x = x + ff(rms_norm(x, sd[p + "1.layer_norm.weight"]), p + "1.DenseReluDense.")
    enc = rms_norm(x, sd["encoder.final_layer_norm.weight"])
    # decoder
    y = sd["shared.weight"][dec]
    causal = torch.ones(T, T).tril().bool()[None, None]
    bias = t5_bias(sd["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], T, T, False)
    for i in range(cfg.num_decoder_layers):
        p = f"decoder.block.{i}.layer."
        h = rms_norm(y, sd[p + "0.layer_norm.weight"])
        y = y + attn(h, h, p + "0.SelfAttention.", causal, bias)
        y = y + attn(rms_norm(y, sd[p + "1.layer_norm.weight"]), enc, p + "1.EncDecAttention.", enc_allowed, None)
        y = y + ff(rms_norm(y, sd[p + "2.layer_norm.weight"]), p + "2.DenseReluDense.")
    y = rms_norm(y, sd["decoder.final_layer_norm.weight"])
    if cfg.tie_word_embeddings:
        return (y * cfg.d_model**-0.5) @ sd["shared.weight"].t(), enc
    return y @ sd["lm_head.weight"].t(), enc


VARIANTS = [
    ("gpt2", {}, None),
    ("gpt2", {}, "lm"),
    ("opt", {}, None),
    ("opt", {"post_ln": True}, None),
    ("opt", {"word_embed_proj_dim": 32}, None),
    ("t5", {}, None),
    ("t5", {"gated": True, "tie_word_embeddings": False}, None),
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
            for lengths, dec_lengths in ([[8, 5], [6, 3]], [[1, 17, 9], [1, 5, 12]], [[40, 40], [7, 40]]):
                batch = batches.make(gen, lengths, dec_lengths)
                got = model(*batch)
                if family == "gpt2":
                    want = (gpt2_manual(sd, config, *batch, lm=head == "lm"),)
                elif family == "opt":
                    want = (opt_manual(sd, config, *batch),)
                else:
                    want = t5_manual(sd, config, *batch)
                for g, w in zip(got, want):
                    if family != "t5" and head == "lm":  # LM logits: only rows' real positions are defined
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
