"""Loading models: Python files with ``build(**params) -> Network`` (bundled in ``models/``).

Parameters come from the command line as ``key=value`` strings; they are converted to the type of
the default in ``build``'s signature, so ``-p scale=0.5`` gives a float and ``-p seed=3`` an int.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from neuroemu.errors import ModelError, NeuroEmuError
from neuroemu.network.network import Network
from neuroemu.resources import bundled_names, find, not_found


def bundled_model_names() -> list[str]:
    """Names of the bundled models (files in ``models/``)."""
    return bundled_names("model")


def resolve_model(name_or_path: str | Path) -> Path:
    """A ``.py`` or ``.nir`` path as given, or the bundled model of that name."""
    if str(name_or_path).endswith(".nir"):
        path = Path(name_or_path)
        if not path.exists():
            raise ModelError(f"{path}: no such NIR file")
        return path
    found = find(name_or_path, ("model",))
    if found is None:
        raise ModelError(not_found(name_or_path, ("model",)))
    if not found[0].exists():
        raise ModelError(f"{found[0]}: no such model file")
    return found[0]


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"neuroemu_model_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ModelError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except NeuroEmuError:
        raise
    except Exception as exc:
        raise ModelError(
            f"{path}: importing the model failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(getattr(module, "build", None)):
        raise ModelError(f"{path}: a model file must define build(**params) -> Network")
    return module


def parse_params(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``['scale=0.5', 'seed=2']`` -> ``{'scale': '0.5', 'seed': '2'}`` (values still text)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ModelError(f"model parameter {pair!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def _convert(name: str, text: str, default: Any) -> Any:
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes"):
            return True
        if text.lower() in ("0", "false", "no"):
            return False
        raise ModelError(f"model parameter {name}: expected true or false, got {text!r}")
    for kind in (int, float):
        if isinstance(default, kind):
            try:
                return kind(text)
            except ValueError:
                raise ModelError(
                    f"model parameter {name}: expected {kind.__name__}, got {text!r}"
                ) from None
    return text


def load_model(
    name_or_path: str | Path, params: dict[str, Any] | None = None, seed: int | None = None
) -> Network:
    """Build a model's network with the given parameters (strings are converted by type).

    A ``.nir`` file is imported (:mod:`neuroemu.network.nir_import`) with the parameters of
    :data:`NIR_PARAMETERS`: ``spikes`` (a ``.npz`` of input spike trains) or ``rate_hz``.

    ``seed``, when given, is passed as the model's ``seed`` parameter unless ``params`` sets it
    (so one run seed decides connectivity and simulation alike).

    Raises
    ------
    ModelError
        Unknown model, unknown parameter, unconvertible value, or a build that fails.
    """
    if str(name_or_path).endswith(".nir"):
        return _load_nir(resolve_model(name_or_path), dict(params or {}))
    path = resolve_model(name_or_path)
    module = _import(path)
    signature = inspect.signature(module.build)
    accepted = {
        n: p.default for n, p in signature.parameters.items() if p.kind is not p.VAR_KEYWORD
    }
    params = dict(params or {})
    if seed is not None and "seed" in accepted and "seed" not in params:
        params["seed"] = seed
    kwargs = {}
    for name, value in params.items():
        if name not in accepted:
            close = difflib.get_close_matches(name, list(accepted), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ModelError(
                f"model {path.stem!r} has no parameter {name!r}{hint}; its parameters: "
                f"{', '.join(accepted)}"
            )
        default = accepted[name]
        kwargs[name] = _convert(name, value, default) if isinstance(value, str) else value
    try:
        network = module.build(**kwargs)
    except NeuroEmuError:
        raise
    except Exception as exc:
        raise ModelError(
            f"model {path.stem!r}: build({kwargs}) failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(network, Network):
        raise ModelError(
            f"model {path.stem!r}: build() returned {type(network).__name__}, not a Network"
        )
    return network


#: The parameters of a ``.nir`` model and their defaults: ``spikes``, a ``.npz`` with one
#: ``(n_steps, *shape)`` 0/1 array per Input node and ``dt_ms``; else Poisson at ``rate_hz``.
NIR_PARAMETERS: dict[str, Any] = {"spikes": "", "rate_hz": 10.0}


def _load_nir(path: Path, params: dict[str, Any]) -> Network:
    from neuroemu.network.nir_import import load_nir

    for name in params:
        if name not in NIR_PARAMETERS:
            raise ModelError(
                f"NIR model {path.name!r} has no parameter {name!r}; its parameters: "
                f"{', '.join(NIR_PARAMETERS)}"
            )
    rate = _convert("rate_hz", str(params.get("rate_hz", 10.0)), 10.0)
    return load_nir(path, spikes=params.get("spikes") or None, rate_hz=rate)


def model_parameters(name_or_path: str | Path) -> dict[str, Any]:
    """The parameters of a model's ``build`` and their defaults."""
    if str(name_or_path).endswith(".nir"):
        return dict(NIR_PARAMETERS)
    module = _import(resolve_model(name_or_path))
    return {n: p.default for n, p in inspect.signature(module.build).parameters.items()}


@dataclass(frozen=True)
class ModelInfo:
    """What ``neuroemu models list`` shows of a model file, without building it.

    A model file declares its sizes at the default parameters as module constants
    ``N_NEURONS`` and ``N_SYNAPSES`` and its source as ``REFERENCE`` (building a full-scale
    microcircuit to count 0.3e9 synapses would take minutes); a file without them shows None.
    """

    name: str
    summary: str
    n_neurons: int | None
    n_synapses: int | None
    reference: str | None


def model_info(name_or_path: str | Path) -> ModelInfo:
    """The :class:`ModelInfo` of a bundled model or a model file (imported, not built)."""
    path = resolve_model(name_or_path)
    module = _import(path)
    doc = (module.__doc__ or "").strip()
    summary = " ".join(doc.split("\n\n")[0].split()) if doc else ""

    def whole(value: Any) -> int | None:
        return int(value) if isinstance(value, int | float) else None

    reference = getattr(module, "REFERENCE", None)
    return ModelInfo(
        name=path.stem,
        summary=summary,
        n_neurons=whole(getattr(module, "N_NEURONS", None)),
        n_synapses=whole(getattr(module, "N_SYNAPSES", None)),
        reference=str(reference) if reference is not None else None,
    )
