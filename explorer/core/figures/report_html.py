"""A Report (report.py) as one self-contained HTML page: inline CSS, no script, every image a PNG
data: URI, no external resource. The same Report gives the same bytes (no clock is read)."""

from __future__ import annotations

import base64
import html
import math
import re

import numpy as np

from explorer.core.figures import traversal as T
from explorer.core.figures.export import png_bytes
from explorer.core.figures.report import NO_LABELS, SECTIONS, Report, VectorSweep
from explorer.core.space import health as H

TITLES = dict(
    zip(
        SECTIONS,
        (
            "Model facts",
            "Health",
            "Reconstructions",
            "Prior samples",
            "Traversals",
            "Map",
            "Attribute vectors",
            "Disentanglement",
        ),
    )
)
MIN_TILE_PX = 48  # tiles smaller than this are shown enlarged (by whole pixels: pixelated)
CSS = """
body{font:14px/1.45 system-ui,sans-serif;color:#222;max-width:1100px;margin:1.5em auto;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
h3{margin:1.2em 0 .4em}nav a{margin-right:1em}.sub{color:#666}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
img{image-rendering:pixelated;display:block;margin:.4em 0;border:1px solid #ddd}
.bar{display:inline-block;height:.8em;background:#4e9ae6;vertical-align:middle}
.flag{color:#a33}.note{color:#666;font-style:italic}figure{margin:.5em 0}figcaption{color:#555}
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.4em;vertical-align:middle;border:1px solid #999}
pre{background:#f7f7f7;padding:.5em}
""".strip()


def render(report: Report) -> str:
    """The page as text (UTF-8 when written)."""
    title = f"VAE report: {report.model_spec} on {report.data_spec}"
    extra = (report.spec.made_by, report.spec.generated)
    sub = " · ".join([f"{report.points:,} data points", f"seed {report.spec.seed}", *filter(None, extra)])
    nav = " ".join(f'<a href="#{s}">{TITLES[s]}</a>' for s in SECTIONS)
    body = [
        _facts(report),
        _health(report),
        _reconstructions(report),
        _prior(report),
        _traversals(report),
        _map(report),
        _vectors(report),
        _disentanglement(report),
    ]
    sections = "\n".join(f'<section id="{s}">\n<h2>{TITLES[s]}</h2>\n{b}\n</section>' for s, b in zip(SECTIONS, body))
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
        f"<style>\n{CSS}\n</style>\n</head>\n<body>\n<h1>{_e(title)}</h1>\n<p class=sub>{_e(sub)}</p>\n"
        f"<nav>{nav}</nav>\n{sections}\n</body>\n</html>\n"
    )


# -- pieces ------------------------------------------------------------------------------------
def _e(text) -> str:
    return html.escape(str(text))


def _f(x, fmt: str = ".3f") -> str:
    return format(x, fmt) if x is not None and math.isfinite(x) else "n/a"


def _img(id_: str, image: np.ndarray, alt: str, tile: int | None = None) -> str:
    """An <img> of the image's PNG; shown enlarged when its tiles are under MIN_TILE_PX."""
    h, w = image.shape[:2]
    zoom = max(1, MIN_TILE_PX // tile) if tile else 1
    uri = base64.b64encode(png_bytes(image)).decode("ascii")
    return f'<img id="{id_}" alt="{_e(alt)}" width="{w * zoom}" height="{h * zoom}" src="data:image/png;base64,{uri}">'


def _figure(id_: str, image: np.ndarray, caption: str, tile: int | None = None) -> str:
    return f"<figure>{_img(id_, image, caption, tile)}<figcaption>{_e(caption)}.</figcaption></figure>"


def _table(head: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    def cell(tag: str, i: int, v) -> str:
        return f"<{tag}{' class=n' if i in numeric else ''}>{v}</{tag}>"

    out = (
        ["<table>", "<tr>" + "".join(cell("th", i, _e(h)) for i, h in enumerate(head)) + "</tr>"]
        if head
        else ["<table>"]
    )
    out += ["<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows]
    return "\n".join([*out, "</table>"])


def _bar(fraction: float, width: int = 120) -> str:
    px = round(width * min(max(fraction, 0.0), 1.0)) if math.isfinite(fraction) else 0
    return f'<span class=bar style="width:{px}px"></span>'


def _tile_side(report: Report) -> int:
    return int(max(report.reconstructions.decoded.shape[1:3]))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "label"


# -- sections ------------------------------------------------------------------------------------
def _facts(r: Report) -> str:
    f, s = r.facts, r.spec
    model = _table([], [[_e(k), _e(v)] for k, v in (("model", f.title), *f.rows)])
    settings = [
        ("data", r.data_spec),
        ("data points", f"{r.points:,}"),
        ("seed", s.seed),
        ("log-likelihood bound", f"IWAE K = {s.iwae_k} on {s.iwae_n:,} images" if s.iwae_n else "skipped"),
    ]
    return f"{model}\n<h3>This report</h3>\n{_table([], [[_e(k), _e(v)] for k, v in settings])}"


def _health(r: Report) -> str:
    h = r.health
    d, active = h.latent_dim, h.active
    rows = [
        ["active units", f"{int(active.sum())} of {d} (Var over the data of mu_u &gt; {H.ACTIVE_THRESHOLD:g})"],
        ["KL, total", f"{_f(float(h.kl_per_dim.sum()), '.2f')} nats/image"],
        [
            "mutual information I(x; z)",
            f"{_f(h.mutual_information, '.2f')} nats ({h.mi_points:,} points; "
            f"at most log {h.mi_points:,} = {math.log(max(h.mi_points, 1)):.2f})",
        ],
    ]
    if h.likelihood is not None:
        est = h.likelihood
        for name, (m, se) in (
            (f"log-likelihood, IWAE (K = {est.k})", est.iwae_mean_se),
            ("ELBO (same samples)", est.elbo_mean_se),
            ("IWAE − ELBO", est.gap_mean_se),
        ):
            rows.append([_e(name), f"{_f(m, '.2f')} ± {_f(se, '.2f')} nats/image ({est.n:,} images)"])
    else:
        rows.append(["log-likelihood", "<span class=note>not estimated (no images, or 0 asked for)</span>"])
    rows.append(["aggregate q(z) vs N(0, I)", f"Gaussian-fit KL {_f(h.gaussian_kl, '.2f')} nats"])
    if h.holes is not None:
        rows.append(
            [
                "prior holes",
                f"{h.holes.fraction:.1%} of {h.holes.samples:,} prior samples lie off the data "
                f"(farther than {H.HOLE_PERCENTILE}% of data points from theirs)",
            ]
        )
    flags = h.flags()
    flag_html = "".join(f"<p class=flag>⚠ {_e(x)}</p>" for x in flags) or "<p>No flags.</p>"
    top = max(float(np.nanmax(h.kl_per_dim)), 1e-12) if np.isfinite(h.kl_per_dim).any() else 1.0
    dims = [
        [
            f"z{u}",
            f"{_f(h.kl_per_dim[u])} {_bar(h.kl_per_dim[u] / top)}",
            _f(h.activity[u], ".4f"),
            _f(h.mu_mean[u], "+.3f"),
            _f(h.aggregate_var[u]),
            "active" if active[u] else "<b>inactive</b>",
        ]
        for u in h.kl_order
    ]
    per_dim = _table(["dim", "KL (nats)", "Var(mu)", "mean(mu)", "Var(q(z))", ""], dims, {2, 3, 4})
    return f"{_table([], rows)}\n{flag_html}\n<h3>Latent dimensions, largest KL first</h3>\n{per_dim}"


def _reconstructions(r: Report) -> str:
    rec = r.reconstructions
    which = ", ".join(map(str, rec.indices.tolist()))
    if rec.originals is None:
        text = f"decode(mu) of data points {which} (the data has no images to show beside them)"
    else:
        text = f"top: data points {which}; below each: decode(mu), its reconstruction"
    table = _table(
        ["data point", "per-pixel MSE"], [[str(i), _f(float(m), ".5f")] for i, m in zip(rec.indices, rec.mse)], {0, 1}
    )
    return f"{_figure('reconstructions-grid', rec.image, text, _tile_side(r))}\n{table}"


def _prior(r: Report) -> str:
    n = len(r.prior.latents)
    text = f"decode(z) for {n} samples z ~ N(0, I) (seed {r.spec.seed})"
    return _figure("prior-samples-grid", r.prior.image, text, _tile_side(r))


def _traversals(r: Report) -> str:
    t = r.traversals.traversal
    inactive = [f"z{row.dim}" for row in t.rows if row.inactive]
    text = f"{t.title()}: the {len(t.rows)} dimensions of largest KL, {t.spec.columns} values each"
    text += f"; inactive (Var(mu) <= {T.ACTIVE_UNIT_VARIANCE:g}): {', '.join(inactive)}" if inactive else ""
    return _figure("traversals-grid", r.traversals.image, text, _tile_side(r))


def _map(r: Report) -> str:
    m, p = r.map, r.map.projection
    explained = p.explained or (math.nan, math.nan)
    axes = f"{p.axis_labels[0]} ({_f(explained[0] * 100, '.0f')}% of the variance of mu) across, "
    axes += f"{p.axis_labels[1]} ({_f(explained[1] * 100, '.0f')}%) up"
    colour = f"coloured by {m.coloured_by}" if m.coloured_by else "one colour (the data has no labels)"
    text = f"{p.name} map of every data point's mu: {axes}; {colour}"
    if m.continuous and m.value_range is not None:
        lo, hi = m.value_range
        legend = f"<p>{_e(m.coloured_by)}: dark purple {lo:.3g} to yellow {hi:.3g} (viridis)</p>"
    else:
        legend = " ".join(
            f'<span><span class=swatch style="background:rgb{tuple(c)}"></span>{_e(name)} ({k:,})</span>'
            for name, c, k in m.legend
        )
        legend = f"<p>{legend}</p>"
    return f"{_figure('map-image', m.image, text)}\n{legend}"


def _vectors(r: Report) -> str:
    v = r.vectors
    if v.note:
        return f"<p class=note>{_e(v.note)}</p>"
    s = r.spec
    summary = [
        [
            _e(sw.vector.name),
            _f(sw.vector.quality.auc),
            _f(sw.vector.quality.cohens_d, ".2f"),
            f"{sw.vector.quality.n_positive:,} / {sw.vector.quality.n_negative:,}",
            _f(sw.judge_accuracy),
            *(("n/a", "n/a") if sw.judged is None else (_f(sw.judged[0], ".2f"), _f(sw.judged[-1], ".2f"))),
        ]
        for sw in v.sweeps
    ]
    head = [
        "label",
        "AUC",
        "Cohen's d",
        "n (y=1 / y=0)",
        "judge accuracy",
        f"judged at {-s.sweep_range:+g}",
        f"at {s.sweep_range:+g}",
    ]
    out = [
        "<p>Each label's vector is the mean difference mean(mu | y = 1) − mean(mu | y = 0). Its quality: the AUC of "
        "classifying y by the projection ⟨mu, v⟩ and Cohen's d of that projection. A pixel judge (a logistic "
        "regression on the data's own 32×32 grey pixels, accuracy on images it was not trained on) then says "
        f"which of {s.judge_points} data points' sweeps look positive at each slider step.</p>",
        _table(head, summary, {1, 2, 3, 4, 5, 6}),
    ]
    seen: set[str] = set()
    for sw in v.sweeps:
        slug = _slug(sw.vector.name)
        while slug in seen:
            slug += "-x"
        seen.add(slug)
        out.append(_one_vector(r, sw, slug))
    out += [f"<p class=note>{_e(label)}: {_e(why)}</p>" for label, why in v.skipped]
    return "\n".join(out)


def _one_vector(r: Report, sw: VectorSweep, slug: str) -> str:
    name, steps = sw.vector.name, sw.steps
    text = (
        f"{name}: rows are data points {', '.join(map(str, sw.indices.tolist()))}; columns move along the vector by "
        f"{', '.join(f'{c:+.1f}' for c in steps)} sd (1 sd = {sw.vector.std:.3f} in the latent space)"
    )
    part = [f'<h3 id="vector-{slug}-title">{_e(name)}</h3>', f"<p>{_e(sw.vector.describe())}</p>"]
    part.append(_figure(f"vector-{slug}", sw.image, text, _tile_side(r)))
    if sw.judged is None:
        part.append(f"<p class=note>{_e(sw.note)}</p>")
    else:
        rows = [[f"{c:+.2f}", f"{f:.2f} {_bar(f)}", f"{p:.2f}"] for c, f, p in zip(steps, sw.judged, sw.probability)]
        part.append(_table(["step (sd)", "fraction judged " + name, "mean probability"], rows, {0, 2}))
    return "\n".join(part)


def _disentanglement(r: Report) -> str:
    d = r.disentanglement
    if d.result is None:
        return f"<p class=note>{_e(d.note or NO_LABELS)}</p>"
    res = d.result
    rows = [
        ["MIG", _f(res.mig)],
        ["DCI disentanglement", _f(res.dci_disentanglement)],
        ["DCI completeness", _f(res.dci_completeness)],
        ["DCI informativeness", _f(res.dci_informativeness)],
        ["SAP", _f(res.sap)],
    ]
    text = f"normalised mutual information between each latent dimension and each label ({', '.join(d.factors)})"
    out = [f"<p>Against the data's labels: {_e(', '.join(d.factors))}.</p>", _table(["measure", "value"], rows, {1})]
    if d.heatmap is not None:
        out.append(_figure("disentanglement-heatmap", d.heatmap, text))
    out.append(f"<pre>{_e(chr(10).join(res.lines()))}</pre>")
    return "\n".join(out)
