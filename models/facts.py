"""A model's facts: what `vae-explorer info` prints, and the report's and the window's "model" table."""

from __future__ import annotations

from explorer_models.contract import likelihood_of


def _terms(t: dict) -> str:
    text = f"ELBO {t['elbo']:.1f} = -(recon {t['recon']:.1f} + KL {t['kl']:.1f}) nats/image"
    return text + (f", per-pixel MSE {t['mse']:.5f}" if "mse" in t else "")


def model_facts(model) -> dict:
    """What `info` prints: our checkpoints' architecture, or how a user's model was adapted."""

    cfg = getattr(model, "config", None)
    if cfg is not None:
        architecture = {"arch": cfg.arch, "likelihood": cfg.likelihood, "beta": cfg.beta, "widths": list(cfg.widths)}
        if cfg.likelihood == "gaussian":
            architecture["sigma"] = likelihood_of(model).sigma
            architecture["sigma_fixed"] = bool(getattr(cfg, "decoder_sigma", 0))
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
        if "sigma" in a:
            kind += f", pixel sigma {a['sigma']:.3g} ({'fixed' if a.get('sigma_fixed') else 'learned'})"
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
