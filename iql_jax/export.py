"""Export a run's deterministic policy for use without this package: ONNX or StableHLO, plus a sidecar JSON.

Both formats hold the function ``iql eval`` runs (:func:`iql_jax.act` without a key): normalise the raw flat
observation with the agent state's ``obs_mean`` / ``obs_std``, the actor MLP (Dense + ReLU), the tanh mean head,
then a clip to [−1, 1]. Input ``observations`` ``(batch, obs_dim)`` float32, output ``actions`` ``(batch, act_dim)``
float32; the batch size is free.

* **ONNX** is written node by node with the ``onnx`` package's helper API (opset 17, IR version 8, so onnxruntime
  releases from 1.14 on load it). Why not a converter: ``jax2onnx``, the maintained JAX → ONNX converter, requires
  jax ≥ 0.7 and flax ≥ 0.12 in every release that resolves on PyPI, and this project pins jax 0.4.38 (see the
  README); ``jax2tf`` + ``tf2onnx`` would pull in TensorFlow for a five-layer MLP. The policy is a fixed, small
  graph, so writing it directly is short, and the graph's layer list is checked against the parameter tree so a
  changed network fails loudly instead of exporting something else. Tests compare onnxruntime with ``act``.
* **StableHLO** goes through ``jax.export`` (serialisation format of jax 0.4.38), lowered for CPU, CUDA and TPU with
  a symbolic batch dimension; ``jax.export.deserialize(open(f, "rb").read()).call(obs)`` runs it with jax alone.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

import iql_jax
from iql_jax.errors import ExportError
from iql_jax.policy import policy_function
from iql_jax.runs.rundir import EXPORT_DIR, LoadedMember, load_member

Format = Literal["onnx", "stablehlo"]
SUFFIX = {"onnx": ".onnx", "stablehlo": ".stablehlo"}
INPUT, OUTPUT = "observations", "actions"
ONNX_OPSET, ONNX_IR_VERSION = 17, 8
STABLEHLO_PLATFORMS = ("cpu", "cuda", "tpu")


@dataclass(frozen=True)
class Exported:
    """What :func:`export_policy` wrote: the model file and its sidecar JSON."""

    path: Path
    sidecar: Path
    metadata: dict


def export_policy(run_dir: str | Path, member: int = 0, format: Format = "onnx", out: str | Path | None = None,
                  checkpoint: str | Path | None = None) -> Exported:
    """Write member ``member``'s deterministic policy as ONNX or StableHLO, and a sidecar ``<out>.json``.

    Args:
        run_dir: a run directory written by ``iql train``.
        member: population member index (seed-major, as ``iql eval`` lists them).
        format: ``"onnx"`` or ``"stablehlo"``.
        out: the model file; default ``<run_dir>/export/policy-m<member>.<onnx|stablehlo>``.
        checkpoint: a checkpoint file; the run's newest by default.

    Raises:
        RunError: no checkpoint or no such member. ExportError: the ``export`` extra is missing (ONNX).
    """
    if format not in SUFFIX:
        raise ExportError(f"--format: expected one of {', '.join(SUFFIX)}, found {format!r}")
    loaded = load_member(run_dir, member, checkpoint)
    path = Path(out) if out is not None else Path(run_dir) / EXPORT_DIR / f"policy-m{member}{SUFFIX[format]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = write_onnx(loaded, path) if format == "onnx" else write_stablehlo(loaded, path)
    metadata = sidecar(loaded, format, path, extra)
    side = path.with_name(path.name + ".json")
    side.write_text(json.dumps(metadata, indent=2) + "\n")
    return Exported(path, side, metadata)


def sidecar(loaded: LoadedMember, format: Format, path: Path, extra: dict) -> dict:
    """What a deployment needs to feed the model and to trace it back to its run (as its JSON reads back)."""
    rec, m = loaded.record, loaded.member
    layout = rec.eval_env.observation_layout if rec.eval_env is not None else None
    bounds = {"low": [-1.0] * loaded.act_dim, "high": [1.0] * loaded.act_dim}
    return json.loads(json.dumps({
        "format": format, "file": path.name, **extra,
        "input": {"name": INPUT, "shape": ["batch", loaded.obs_dim], "dtype": "float32",
                  "observation_layout": None if layout is None else list(layout),
                  "normalisation": "inside the model: (observations - obs_mean) / obs_std",
                  "obs_mean": np.asarray(loaded.state.obs_mean).tolist(),
                  "obs_std": np.asarray(loaded.state.obs_std).tolist()},
        "output": {"name": OUTPUT, "shape": ["batch", loaded.act_dim], "dtype": "float32",
                   "policy": "deterministic: the Gaussian mean tanh(Dense(MLP(obs))), clipped to [-1, 1]"},
        "obs_dim": loaded.obs_dim, "act_dim": loaded.act_dim, "action_bounds": bounds,
        "dataset": dataclasses.asdict(rec.dataset), "step": loaded.step,
        "eval_env": None if rec.eval_env is None else dataclasses.asdict(rec.eval_env),
        "member": {"index": m.index, "seed": m.seed, "label": m.label, "overrides": dict(m.overrides)},
        "run_dir": str(loaded.run_dir), "checkpoint": str(loaded.checkpoint), "iql_jax_version": iql_jax.__version__,
    }))


def actor_layers(loaded: LoadedMember) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(kernel (in, out), bias (out,)), ...]`` of the actor: the hidden Dense layers, then the mean head.

    Raises:
        ExportError: the parameter tree is not the ``GaussianPolicy`` this exporter writes (e.g. a network change).
    """
    params = jax.device_get(loaded.state.actor.params)["params"]
    hidden = params.get("MLP_0", {})
    n = len(loaded.state.network.hidden_dims)
    expected_hidden = {f"Dense_{i}" for i in range(n)}
    if set(params) != {"MLP_0", "Dense_0", "log_std"} or set(hidden) != expected_hidden:
        raise ExportError(f"{loaded.run_dir}: actor parameters {sorted(params)} / {sorted(hidden)} are not the "
                          f"Dense+ReLU GaussianPolicy the ONNX writer knows; export with --format stablehlo")
    dense = [hidden[f"Dense_{i}"] for i in range(n)] + [params["Dense_0"]]
    return [(np.asarray(d["kernel"], np.float32), np.asarray(d["bias"], np.float32)) for d in dense]


def write_onnx(loaded: LoadedMember, path: Path) -> dict:
    """Write the policy graph: Sub, Div, (MatMul, Add, Relu) × hidden, MatMul, Add, Tanh, Clip."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ExportError("ONNX export needs the `export` extra: pip install 'iql-jax[export]'") from None
    layers = actor_layers(loaded)
    const = lambda name, x: numpy_helper.from_array(np.asarray(x, np.float32), name)
    inits = [const("obs_mean", loaded.state.obs_mean), const("obs_std", loaded.state.obs_std),
             const("action_low", -1.0), const("action_high", 1.0)]
    nodes = [helper.make_node("Sub", [INPUT, "obs_mean"], ["centred"]),
             helper.make_node("Div", ["centred", "obs_std"], ["h0"])]
    for i, (kernel, bias) in enumerate(layers):
        last = i == len(layers) - 1
        inits += [const(f"kernel_{i}", kernel), const(f"bias_{i}", bias)]
        nodes += [helper.make_node("MatMul", [f"h{i}", f"kernel_{i}"], [f"mm{i}"]),
                  helper.make_node("Add", [f"mm{i}", f"bias_{i}"], ["pre_mean" if last else f"pre{i}"])]
        if not last:
            nodes.append(helper.make_node("Relu", [f"pre{i}"], [f"h{i + 1}"]))
    nodes += [helper.make_node("Tanh", ["pre_mean"], ["mean"]),
              helper.make_node("Clip", ["mean", "action_low", "action_high"], [OUTPUT])]
    graph = helper.make_graph(
        nodes, "iql_policy", [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", loaded.obs_dim])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", loaded.act_dim])], inits)
    model = helper.make_model(graph, producer_name="iql-jax", producer_version=iql_jax.__version__,
                              opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = ONNX_IR_VERSION
    model.doc_string = f"IQL deterministic policy, {loaded.run_dir.name} member {loaded.member.label}"
    onnx.checker.check_model(model, full_check=True)
    path.write_bytes(model.SerializeToString())
    return {"onnx_opset": ONNX_OPSET, "onnx_ir_version": ONNX_IR_VERSION}


def write_stablehlo(loaded: LoadedMember, path: Path) -> dict:
    """Serialise ``jax.export`` of the policy (parameters as constants, symbolic batch)."""
    exported = stablehlo_program(loaded)
    path.write_bytes(bytes(exported.serialize()))
    return {"platforms": list(exported.platforms), "jax_version": jax.__version__,
            "calling_convention_version": exported.calling_convention_version,
            "load_with": "jax.export.deserialize(open(file, 'rb').read()).call(observations)"}


def stablehlo_program(loaded: LoadedMember):
    """The ``jax.export.Exported`` policy program, before serialisation."""
    from jax import export

    batch, = export.symbolic_shape("batch")
    spec = jax.ShapeDtypeStruct((batch, loaded.obs_dim), jnp.float32)
    return export.export(jax.jit(policy_function(loaded.state)), platforms=STABLEHLO_PLATFORMS)(spec)


def load_stablehlo(path: str | Path):
    """Reload a serialised StableHLO policy: ``program.call(observations)`` runs it (jax only)."""
    from jax import export

    return export.deserialize(bytearray(Path(path).read_bytes()))
