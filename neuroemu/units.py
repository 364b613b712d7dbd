"""Units: the one table of every unit neuroemu reads from a name, hands to Brian2 or shows a user.

Names carry their unit as a suffix (CONTRIBUTING.md, Style: ``tau_m_ms``, ``energy_pj``,
``bandwidth_gb_s``), so a unit is found by reading the end of a name. Two families of names meet
here:

- **neuron parameters and initial values** (``v_rest_mV``, ``g_l_nS``): the suffix is the unit's
  own symbol, case-sensitive as physicists write it. :func:`split_unit` separates it, the engine
  asks :func:`brian2_unit_name` and :func:`dimension_unit_name` for the Brian2 objects, and the
  GPU simulation converts with :func:`convert`;
- **descriptor and report fields** (``static_power_mw``, ``peak_tflops``): lower-case suffixes,
  shown to the user by :func:`field_unit`.

:func:`format_si` prints any value with an SI prefix (``1.23 mJ``).
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroemu.errors import NeuroEmuError


@dataclass(frozen=True)
class Unit:
    """A unit a neuron parameter can be given in.

    Attributes
    ----------
    brian2_name : str
        The Brian2 unit object of that name (``b2.mV``), ``"1"`` for dimensionless.
    dimension : str
        The Brian2 base unit of its dimension (``volt``), used to declare a variable.
    scale : float
        The unit in its dimension's base unit (``mV`` -> 1e-3 volt).
    """

    brian2_name: str
    dimension: str
    scale: float


# Suffix -> unit, for parameter and initial-value names (``tau_m_ms``).
UNITS: dict[str, Unit] = {
    "ms": Unit("ms", "second", 1e-3),
    "us": Unit("us", "second", 1e-6),
    "s": Unit("second", "second", 1.0),
    "mV": Unit("mV", "volt", 1e-3),
    "V": Unit("volt", "volt", 1.0),
    "nS": Unit("nS", "siemens", 1e-9),
    "uS": Unit("uS", "siemens", 1e-6),
    "pA": Unit("pA", "amp", 1e-12),
    "nA": Unit("nA", "amp", 1e-9),
    "pF": Unit("pF", "farad", 1e-12),
    "nF": Unit("nF", "farad", 1e-9),
    "Hz": Unit("Hz", "hertz", 1.0),
    "Mohm": Unit("Mohm", "ohm", 1e6),
    "1": Unit("1", "1", 1.0),
}

# Suffix -> symbol shown, for descriptor and report fields. Longer suffixes first, so ``_gb_s``
# wins over ``_s``-like endings.
FIELD_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_gb_s", "GB/s"),
    ("_tflops", "TFLOP/s"),
    ("_gops", "Gop/s"),
    ("_bits", "bits"),
    ("_pj", "pJ"),
    ("_nj", "nJ"),
    ("_ns", "ns"),
    ("_us", "us"),
    ("_ms", "ms"),
    ("_mw", "mW"),
    ("_w", "W"),
    ("_gb", "GB"),
    ("_mb", "MB"),
    ("_nm", "nm"),
)
# Fields whose entries carry a unit their own names do not say.
FIELD_UNITS = {"synapse_encodings": "bits/synapse"}

_SI_PREFIXES = (
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
    (1e-9, "n"),
    (1e-12, "p"),
    (1e-15, "f"),
)


def split_unit(name: str) -> tuple[str, str]:
    """``'tau_m_ms'`` -> ``('tau_m', 'ms')``; a name without a known suffix is dimensionless.

    Dimensionless parameters may also end in ``_1`` to say so explicitly.
    """
    base, _, suffix = name.rpartition("_")
    if base and suffix in UNITS:
        return base, suffix
    return name, "1"


def brian2_unit_name(suffix: str) -> str:
    """The Brian2 unit object named by a suffix (``'s'`` -> ``'second'``; ``'1'`` for none)."""
    return _unit(suffix).brian2_name


def dimension_unit_name(suffix: str) -> str:
    """The Brian2 base unit of the suffix's dimension (``'mV'`` -> ``'volt'``)."""
    return _unit(suffix).dimension


def convert(value: float, from_suffix: str, to_suffix: str) -> float:
    """``value`` given in ``from_suffix`` expressed in ``to_suffix`` (same dimension).

    Raises
    ------
    NeuroEmuError
        When the two units measure different things (``mV`` to ``ms``).
    """
    source, target = _unit(from_suffix), _unit(to_suffix)
    if source.dimension != target.dimension:
        raise NeuroEmuError(
            f"cannot convert {from_suffix} to {to_suffix}: {source.dimension} is not "
            f"{target.dimension}"
        )
    return value * source.scale / target.scale


def _unit(suffix: str) -> Unit:
    try:
        return UNITS[suffix]
    except KeyError:
        raise NeuroEmuError(
            f"unknown unit {suffix!r}: expected one of {', '.join(UNITS)}"
        ) from None


def field_unit(loc: tuple[str | int, ...]) -> str:
    """The unit of a descriptor field at ``loc``, from the nearest name that carries one."""
    for part in reversed(loc):
        if not isinstance(part, str):
            continue
        if part in FIELD_UNITS:
            return FIELD_UNITS[part]
        for suffix, unit in FIELD_SUFFIXES:
            if part.endswith(suffix):
                return unit
    return ""


def format_si(value: float | None, unit: str) -> str:
    """``0.00123, 'J'`` -> ``1.23 mJ``; ``None`` -> ``unpriced``."""
    if value is None:
        return "unpriced"
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in _SI_PREFIXES:
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"
