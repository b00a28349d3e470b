#!/usr/bin/env python3
"""Checks scripts/qkv_from_hf.py on randomly initialised small models built from configs (no
download): the files it writes have the documented layout, and softmax(q.k / sqrt(d)) with a
causal mask from the captured Q and K equals the attention weights the model itself reports,
for a rotary model with grouped-query attention (Llama) and an absolute-position one (GPT-2).
Then salab-cli runs a layer's files.

    test_qkv_from_hf.py <path-to-salab-cli> <source-dir>

Exits 77 (skipped) when torch or transformers is not installed.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import transformers
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)


def check_model(cli, src, tmp, name, config):
    cfg_dir = os.path.join(tmp, name + "_cfg")
    config.save_pretrained(cfg_dir)
    out = os.path.join(tmp, name + "_qkv")
    ids = [1, 7, 3, 9, 4, 11, 2, 5, 8, 6, 10, 12]
    script = os.path.join(src, "scripts", "qkv_from_hf.py")
    subprocess.run([sys.executable, script, "--config", cfg_dir, "--random-init", "--seed", "3",
                    "--token-ids", ",".join(map(str, ids)), "--out", out], check=True)
    m = json.load(open(os.path.join(out, "model.json")))
    assert m["format"] == "salab-qkv-1", m
    heads, n, d, layers = m["heads"], m["n"], m["d"], m["layers"]
    assert n == len(ids) and layers == config.num_hidden_layers, m
    assert len(m["tokens"]) == n and len(m["files"]) == layers
    # The model's own attention weights, from the same seed.
    torch.manual_seed(3)
    try:
        model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()
    except TypeError:  # transformers before 4.36
        model = transformers.AutoModelForCausalLM.from_config(config).eval()
    with torch.no_grad():
        att = model(torch.tensor([ids]), output_attentions=True).attentions
    failures = 0
    for layer in range(layers):
        q = np.load(os.path.join(out, m["files"][layer]["q"]))
        k = np.load(os.path.join(out, m["files"][layer]["k"]))
        v = np.load(os.path.join(out, m["files"][layer]["v"]))
        for t in (q, k, v):
            assert t.dtype == np.float32 and t.shape == (heads, n, d), t.shape
        logits = np.einsum("hid,hjd->hij", q.astype(np.float64), k.astype(np.float64)) / np.sqrt(d)
        logits = np.where(np.tril(np.ones((n, n), bool)), logits, -np.inf)
        p = np.exp(logits - logits.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        want = att[layer][0].double().numpy()
        err = np.abs(p - want).max()
        if err > 1e-4:
            print(f"{name} layer {layer}: softmax of captured Q/K differs from the model's attention by {err:.2e}")
            failures += 1
    # salab-cli runs a layer's files as they are.
    f0 = m["files"][0]
    pattern = os.path.join(tmp, "dense.json")
    json.dump({"name": "dense", "n": n, "causal": True, "components": [{"type": "dense"}]}, open(pattern, "w"))
    r = subprocess.run([cli, "run", "--pattern", pattern, "--heads", str(heads), "--d", str(d), "--q",
                        os.path.join(out, f0["q"]), "--k", os.path.join(out, f0["k"]), "--v",
                        os.path.join(out, f0["v"]), "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 3):  # 3: no Vulkan device on this machine
        print(f"{name}: salab-cli run failed ({r.returncode}): {r.stderr.strip()}")
        failures += 1
    return failures


def main():
    cli, src = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        llama = transformers.LlamaConfig(vocab_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
        gpt2 = transformers.GPT2Config(vocab_size=32, n_embd=32, n_layer=2, n_head=4, n_positions=64)
        failures = check_model(cli, src, tmp, "llama", llama) + check_model(cli, src, tmp, "gpt2", gpt2)
    print(f"{0 if failures else 2} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
