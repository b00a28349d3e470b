#!/usr/bin/env python3
"""Write a Hugging Face model's per-layer, per-head Q, K, V for Sparse Attention Lab.

Runs the model once on a text (or on token ids) and writes, into OUT/:

    model.json                       format "salab-qkv-1": model, text, tokens, layers, heads, n, d,
                                     position (what was applied to Q and K), files
    layer00_q.npy layer00_k.npy layer00_v.npy   float32 [heads, n, d]
    layer01_q.npy ...                one triple per layer

Q and K are taken *after* the model's position step: for rotary models (Llama, Mistral, Qwen,
Gemma, Phi-3, ...) the outputs of the modeling module's apply_rotary_pos_emb; for models that
add absolute positions to the embeddings (GPT-2, OPT) the projections themselves. Under
grouped-query attention K and V are repeated to every query head, so all three are
[heads, n, d]. salab computes softmax(q.k / sqrt(d)), which is what these models compute too
(models with another scale, e.g. Gemma 2's query_pre_attn_scalar, are reported in model.json).

Load the result in the GUI (Q/K/V: ".npy files", then "model dir" = OUT) or use any layer's
files with salab-cli (`run --q OUT/layer05_q.npy --k ... --v ... --heads H --n N --d D`).

Usage:
    python3 scripts/qkv_from_hf.py --model gpt2 --text "The quick brown fox" --out qkv/
    python3 scripts/qkv_from_hf.py --model meta-llama/Llama-3.2-1B --text-file essay.txt --max-tokens 512 --out qkv/
    # No download: a randomly initialised model from a config (a directory or config.json), on token ids
    python3 scripts/qkv_from_hf.py --config tiny_llama/ --random-init --token-ids 1,5,9,2 --out qkv/

Needs torch, transformers and numpy (pip install torch transformers numpy). Exit codes: 0 done,
2 bad arguments or input, 3 a missing Python package.
"""
import argparse
import json
import os
import sys


def fail(msg, code=2):
    print(f"qkv_from_hf: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="model name on the Hub or a local directory (weights and tokenizer)")
    src.add_argument("--config", help="a config.json or a directory holding one; with --random-init builds the model untrained")
    p.add_argument("--random-init", action="store_true", help="random weights from --config (nothing is downloaded)")
    txt = p.add_mutually_exclusive_group(required=True)
    txt.add_argument("--text", help="the input text")
    txt.add_argument("--text-file", help="read the input text from this file")
    txt.add_argument("--token-ids", help="comma-separated token ids instead of a text (no tokenizer needed)")
    p.add_argument("--max-tokens", type=int, default=1024, help="cut the input to this many tokens (default 1024)")
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-init weights")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    a = p.parse_args(argv)
    if a.config and not a.random_init:
        p.error("--config needs --random-init (a config has no weights)")
    if a.random_init and not a.config:
        p.error("--random-init needs --config")
    if a.max_tokens < 1:
        p.error("--max-tokens must be >= 1")
    return a


def import_stack():
    try:
        import numpy as np
        import torch
        import transformers
    except ImportError as e:
        fail(f"needs numpy, torch and transformers ({e}); pip install numpy torch transformers", 3)
    return np, torch, transformers


def load_model(a, torch, transformers):
    if a.random_init:
        path = a.config
        cfg_dir = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        try:
            config = transformers.AutoConfig.from_pretrained(cfg_dir)
        except Exception as e:  # noqa: BLE001 - transformers raises many kinds
            fail(f"cannot read the config {path}: {e}")
        torch.manual_seed(a.seed)
        try:
            model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
        except TypeError:  # transformers before 4.36
            model = transformers.AutoModelForCausalLM.from_config(config)
        name = f"random-init {config.model_type} from {path}"
        tokenizer = None
    else:
        try:
            try:
                model = transformers.AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32,
                                                                          attn_implementation="eager")
            except TypeError:  # transformers before 4.36
                model = transformers.AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32)
            tokenizer = transformers.AutoTokenizer.from_pretrained(a.model)
        except Exception as e:  # noqa: BLE001
            fail(f"cannot load {a.model}: {e}")
        name = a.model
    # Eager attention: the sdpa / flash paths fuse the softmax, but the rotary step is the same.
    if hasattr(model.config, "_attn_implementation"):
        model.config._attn_implementation = "eager"
    return model.to(a.device).eval(), tokenizer, name


def token_ids(a, tokenizer):
    if a.token_ids is not None:
        try:
            ids = [int(t) for t in a.token_ids.split(",") if t.strip()]
        except ValueError:
            fail(f"--token-ids must be comma-separated integers, got {a.token_ids!r}")
        if not ids:
            fail("--token-ids is empty")
        return ids[: a.max_tokens], [f"#{i}" for i in ids[: a.max_tokens]], None
    text = a.text if a.text is not None else open(a.text_file, encoding="utf-8").read()
    if tokenizer is None:
        fail("a text needs a tokenizer: use --model, or --token-ids with --config")
    ids = tokenizer(text)["input_ids"][: a.max_tokens]
    if not ids:
        fail("the text has no tokens")
    return ids, tokenizer.convert_ids_to_tokens(ids), text


class Capture:
    """Collects Q and K after the position step, and V, layer by layer, in call order."""

    def __init__(self, torch):
        self.torch = torch
        self.q, self.k, self.v = [], [], []

    def rotary(self, original):
        def wrapped(q, k, *args, **kwargs):
            q2, k2 = original(q, k, *args, **kwargs)
            self.q.append(q2.detach())
            self.k.append(k2.detach())
            return q2, k2

        return wrapped

    def proj(self, store, heads, d):
        def hook(_module, _inputs, out):
            b, n, _ = out.shape
            store.append(out.detach().view(b, n, heads, d).transpose(1, 2))

        return hook


def heads_of(config):
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_head", None)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "n_embd", None)
    d = getattr(config, "head_dim", None) or hidden // heads
    kv = getattr(config, "num_key_value_heads", None) or heads
    return heads, kv, d


def run(a):
    np, torch, transformers = import_stack()
    model, tokenizer, name = load_model(a, torch, transformers)
    ids, tokens, text = token_ids(a, tokenizer)
    heads, kv_heads, d = heads_of(model.config)
    if d > 256:
        fail(f"head dimension {d} is above salab's 256")
    cap = Capture(torch)
    module = sys.modules[type(model).__module__]
    hooks = []
    position = ""
    if hasattr(module, "apply_rotary_pos_emb"):
        original = module.apply_rotary_pos_emb
        module.apply_rotary_pos_emb = cap.rotary(original)
        position = "rotary applied (q, k after apply_rotary_pos_emb)"
        for mod in model.modules():
            if hasattr(mod, "v_proj") and hasattr(mod, "q_proj"):
                hooks.append(mod.v_proj.register_forward_hook(cap.proj(cap.v, kv_heads, d)))
    else:
        original = None
        position = "no rotary step (absolute positions are in the embeddings)"
        for mod in model.modules():
            if hasattr(mod, "q_proj") and hasattr(mod, "k_proj") and hasattr(mod, "v_proj"):
                hooks.append(mod.q_proj.register_forward_hook(cap.proj(cap.q, heads, d)))
                hooks.append(mod.k_proj.register_forward_hook(cap.proj(cap.k, kv_heads, d)))
                hooks.append(mod.v_proj.register_forward_hook(cap.proj(cap.v, kv_heads, d)))
            elif type(mod).__name__.endswith("Attention") and hasattr(mod, "c_attn"):  # GPT-2
                def split(_m, _i, out, heads=heads, d=d):
                    b, n, _ = out.shape
                    q, k, v = out.detach().split(heads * d, dim=2)
                    for store, t in ((cap.q, q), (cap.k, k), (cap.v, v)):
                        store.append(t.reshape(b, n, heads, d).transpose(1, 2))

                hooks.append(mod.c_attn.register_forward_hook(split))
    try:
        with torch.no_grad():
            model(torch.tensor([ids], device=a.device))
    finally:
        if original is not None:
            module.apply_rotary_pos_emb = original
        for h in hooks:
            h.remove()
    layers = len(cap.q)
    if layers == 0 or len(cap.k) != layers or len(cap.v) != layers:
        fail(f"captured {len(cap.q)} Q, {len(cap.k)} K, {len(cap.v)} V tensors: "
             f"this model's attention ({type(model).__name__}) is not supported yet")
    os.makedirs(a.out, exist_ok=True)
    files = []
    for layer in range(layers):
        entry = {}
        for key, store in (("q", cap.q), ("k", cap.k), ("v", cap.v)):
            t = store[layer][0]  # [heads or kv heads, n, d]
            if t.shape[0] != heads:  # grouped-query attention: each K/V head serves heads / kv of them
                t = t.repeat_interleave(heads // t.shape[0], dim=0)
            arr = np.ascontiguousarray(t.float().cpu().numpy(), dtype=np.float32)
            if arr.shape != (heads, len(ids), d):
                fail(f"layer {layer} {key} has shape {arr.shape}, expected {(heads, len(ids), d)}")
            fname = f"layer{layer:02d}_{key}.npy"
            np.save(os.path.join(a.out, fname), arr)
            entry[key] = fname
        files.append(entry)
    scale = getattr(model.config, "query_pre_attn_scalar", None)
    manifest = {
        "format": "salab-qkv-1",
        "model": name,
        "text": text if text is not None else "",
        "tokens": tokens,
        "layers": layers,
        "heads": heads,
        "kv_heads": kv_heads,
        "n": len(ids),
        "d": d,
        "position": position,
        "files": files,
    }
    if scale is not None:
        manifest["note"] = f"the model scales logits by 1/sqrt({scale}), salab by 1/sqrt(d = {d})"
    with open(os.path.join(a.out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    print(f"wrote {layers} layers x {heads} heads x {len(ids)} tokens x d = {d} to {a.out}")


if __name__ == "__main__":
    run(parse_args(sys.argv[1:]))
