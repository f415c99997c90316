"""The readable summary of a verification: what ``codesign verify`` prints, for the API.

>>> from codesign.chip.summary import format_summary
>>> result = verify_chip(chip, e, "runs/v")  # doctest: +SKIP
>>> print(format_summary(result))  # doctest: +SKIP
verified 16 samples of an n=8 core (opamp neuron, ngspice 46 + KLU, process backend, op)
equilibrium error vs PyTorch: max 5.75e-05 FS, RMS 2.01e-05 FS
...

(the first lines of a 16-sample op verification of an 8-neuron digits core). A summary read
back from a run's summary.json (``codesign.schema.read_result(path, VerificationSummary,
"verification")``) prints the same."""

from __future__ import annotations

from typing import Protocol

from codesign.results.verify import VerificationSummary


class _HasSummary(Protocol):
    summary: VerificationSummary


def summary_lines(summary: VerificationSummary) -> list[str]:
    """The lines of :func:`format_summary`: the run (samples, core, neuron, ngspice, backend,
    analysis), the equilibrium error against PyTorch and against the circuit-aware prediction
    [FS], the share of outputs on a rail, the proxy's error where a proxy was compared, the
    task's metric where a checkpoint's task was verified, and with a transient analysis the
    settling time [us] and the energy per inference [nJ] and per equivalent MAC [pJ]."""
    if not isinstance(summary, VerificationSummary):
        raise TypeError(f"summary_lines takes a VerificationSummary (a Verification's .summary),"
                        f" got {type(summary).__name__}")
    s = summary
    lines = [
        f"verified {s.samples} sample{'' if s.samples == 1 else 's'} of an n={s.n} core "
        f"({s.neuron} neuron, ngspice {s.ngspice_version}{' + KLU' if s.klu else ''}, "
        f"{s.backend} backend, {s.analysis})",
        f"equilibrium error vs PyTorch: max {s.equilibrium_error_fs.max:.2e} FS, "
        f"RMS {s.equilibrium_error_fs.rms:.2e} FS",
        f"vs the circuit-aware prediction (finite gain, offsets, rails): max "
        f"{s.model_error_fs.max:.2e} FS; {100 * s.rail_clipped_fraction:.2f} % of "
        "neuron outputs on an op-amp rail",
    ]
    if s.proxy_error_fs is not None and s.proxy is not None:
        p = s.proxy_error_fs
        lines.append(f"vs the calibrated proxy ({s.proxy.neuron_model}): max "
                     f"{p.max:.2e} FS, RMS {p.rms:.2e} FS"
                     + ("" if s.proxy.matches_circuit else
                        " (WARNING: fitted to another neuron model)"))
    t = s.task_metric
    fitted = ("" if t is None or t.readout_samples is None else
              f"; the circuit's readout fitted to this chip on {t.readout_samples} training "
              "inputs")
    if t is not None and t.agreement is not None:
        lines.append(f"{t.name} on these samples: digital {100 * t.digital:.2f} %, circuit "
                     f"{100 * t.circuit:.2f} % (same class on {100 * t.agreement:.1f} %){fitted}")
    elif t is not None:
        lines.append(f"{t.name} on these samples: digital {t.digital:.4g}, circuit "
                     f"{t.circuit:.4g}{fitted}")
    if s.settling is not None:
        st = s.settling
        med = st.time_s.median
        lines.append(
            f"settling to {st.tol_fs:g} FS from reset: median "
            f"{1e6 * med:.2f} us, max {1e6 * st.time_s.max:.2f} us (tau "
            f"{1e6 * st.tau_s:.2f} us); within the contraction bound: "
            f"{'n/a, ||W||_2 >= 1' if st.within_bound is None else st.within_bound}"
            if med is not None else "settling: no sample settled within the simulated time")
    en = s.energy_per_inference_j
    if en is not None and en.mean is not None:
        per_mac = ("" if s.energy_per_mac_j is None else
                   f", {1e12 * s.energy_per_mac_j:.3g} pJ per equivalent MAC")
        lines.append(
            f"energy per inference: mean {1e9 * en.mean:.3g} nJ (neurons "
            f"{1e9 * en.core_mean:.3g} nJ, inputs {1e9 * en.input_mean:.3g} nJ, DAC/ADC "
            f"conversions {1e9 * en.converters:.3g} nJ){per_mac}")
    return lines


def format_summary(result: VerificationSummary | _HasSummary) -> str:
    """The readable summary of a verification (a Verification from ``verify_chip`` /
    ``verify_core``, or its VerificationSummary, e.g. read back from a run's summary.json):
    one line per finding (see :func:`summary_lines`), joined by newlines, no trailing one."""
    summary = getattr(result, "summary", result)
    return "\n".join(summary_lines(summary))
