"""`vae-explorer info --model SPEC`: what a model is and how it was trained."""

from __future__ import annotations

import argparse
import json

from explorer.cli.common import add_model_arguments, model_source


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument("--json", action="store_true", help="print the facts as JSON")


def _terms(t: dict) -> str:
    text = f"ELBO {t['elbo']:.1f} = -(recon {t['recon']:.1f} + KL {t['kl']:.1f}) nats/image"
    return text + (f", per-pixel MSE {t['mse']:.5f}" if "mse" in t else "")


def model_facts(model) -> dict:
    """What `info` prints: our checkpoints' architecture, or how a user's model was adapted."""
    from explorer_models.contract import likelihood_of

    cfg = getattr(model, "config", None)
    if cfg is not None:
        architecture = {"arch": cfg.arch, "likelihood": cfg.likelihood, "beta": cfg.beta, "widths": list(cfg.widths)}
    else:
        architecture = {"adapter": model.adapter_description, "likelihood": likelihood_of(model).describe()}
    return {
        "spec": model.info.command_line(),
        "name": model.info.name,
        "architecture": architecture,
        "latent_dim": model.latent_dim,
        "image_shape": list(model.image_shape),
        "parameters": model.parameter_count(),
        "content_sha256": model.info.content_hash,
        "label_names": list(model.info.label_names),
        "training": model.info.training,
    }


def format_facts(f: dict) -> str:
    a, c_h_w, tr = f["architecture"], f["image_shape"], f["training"]
    if "adapter" in a:
        architecture = [f"  adapter       {a['adapter']}", f"  likelihood    {a['likelihood']}"]
    else:
        widths = "-".join(map(str, a["widths"]))
        kind = f"{a['arch']} VAE, {a['likelihood']} decoder, beta {a['beta']:g}"
        architecture = [f"  architecture  {kind}, widths {widths}"]
    lines = [
        f"{f['spec']}",
        f"  name          {f['name']}",
        *architecture,
        f"  image shape   {c_h_w[0]} x {c_h_w[1]} x {c_h_w[2]} (channels x height x width)",
        f"  latent size   {f['latent_dim']}",
        f"  parameters    {f['parameters']:,}",
        f"  content hash  {f['content_sha256'][:16]}",
        f"  labels        {', '.join(f['label_names']) or '(none)'}",
    ]
    if tr:
        lines.append(
            f"  trained on    {tr.get('dataset', '?')} ({tr.get('images', 0):,} images), "
            f"{tr.get('epochs', '?')} epochs, {tr.get('seconds', 0):.0f} s on {tr.get('device', '?')}"
        )
        if "final_train" in tr:
            lines.append(f"  last epoch    {_terms(tr['final_train'])}")
        if "heldout" in tr:
            lines.append(f"  held-out      {_terms(tr['heldout'])} ({tr.get('heldout_dataset', '')})")
        if "command" in tr:
            lines.append(f"  recipe        {tr['command']}")
    else:
        lines.append("  training      (no training facts recorded)")
    return "\n".join(lines)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    from explorer_models import load_model

    facts = model_facts(load_model(model_source(args)))
    print(json.dumps(facts, indent=2) if args.json else format_facts(facts))
    return 0
