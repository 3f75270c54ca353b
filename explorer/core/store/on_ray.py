"""Encoding over a Ray cluster (`vae-explorer encode --engine ray`): the dataset's shards as Ray
tasks, one model replica per task, a GPU each where the cluster has them; their parts merged
as `vae-explorer merge` does. Ray is an optional extra (`pip install "vae-explorer[ray]"`);
the cluster is Ray's own (`ray start`, a SLURM allocation, KubeRay): none is made here.

Each task opens the model and the data from their SPECs, so every node must see the same
files (a shared file system, as on a SLURM cluster) and have vae-explorer installed.
"""

from __future__ import annotations

from explorer.core.store import shards
from explorer_models.errors import UserInputError


def _ray():
    try:
        import ray
    except ImportError:
        raise UserInputError(
            '--engine ray needs Ray: pip install "vae-explorer[ray]" (or run each --shard I/N yourself)'
        ) from None
    return ray


def encode_on_ray(
    source, data_spec: str, labels: str | None, shards_count: int, device: str, address: str | None = None
) -> tuple[dict, dict]:
    """The merged arrays and meta of the dataset encoded in `shards_count` Ray tasks. Starts a
    local Ray instance when `address` is None and none runs, and stops what it started."""
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except ConnectionError as e:
            raise UserInputError(f"--address {address}: no Ray cluster answers there ({e})") from None
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        task = ray.remote(num_gpus=gpus)(_encode_part)
        futures = [task.remote(source, data_spec, labels, i, shards_count, device) for i in range(shards_count)]
        parts = ray.get(futures)
    finally:
        if started:
            ray.shutdown()
    return shards.merge_parts(parts)


def _encode_part(source, data_spec, labels, index, count, device):
    """One Ray task: its shard, as a LatentsFile (its arrays go back through Ray's object store)."""
    part, _encoded, _dataset = shards.encode_shard(source, data_spec, labels, index, count, device)
    return part
