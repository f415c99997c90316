"""The settings of one design search, what a run folder records of them (design.json), and the
check that a resumed search is the same search: a folder searched under other settings, another
space, another task or another proxy is refused (or, asked explicitly, its study is moved aside
and a new one starts)."""

from __future__ import annotations

import datetime
import hashlib
import math
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from codesign.circuit.settings import assignments
from codesign.deq.model import DEFAULT_GAMMA, Decoder, Encoder
from codesign.design.space import DesignSpace
from codesign.errors import InputError
from codesign.files import write_json
from codesign.schema import from_json, read_json
from codesign.tasks import TASKS

Log = Callable[[str], None]
RECORD = "design.json"
PREVIOUS = "previous"
"""Where an earlier study of a folder is moved when a new one starts there (--new-study)."""
RESUMABLE = ("trials", "verify", "refine", "final_samples", "final_transients")
"""Settings a resumed search may change: it tries or measures more designs, refines more, or
measures the chosen one on another number of samples; every other setting defines what the
stored trials and measurements mean."""


@dataclass(frozen=True)
class DesignSettings:
    """One design search (counts of trials, designs and samples)."""

    task: str = "digits"
    trials: int = 40
    verify: int = 20
    """Designs measured in SPICE (the whole screened front, at least)."""
    samples: int = 64
    """Test samples of each measured design's SPICE metric."""
    transients: int = 2
    """SPICE transients from reset per measured design (energy, settling)."""
    final_samples: int = 0
    """Test samples of the chosen design's SPICE metric (0: the whole test set)."""
    final_transients: int = 32
    """SPICE transients of the chosen design's energy and area cards (chosen/card.json; 0:
    none)."""
    epochs: int = 15
    """Physics-aware fine-tuning epochs per design."""
    screen_samples: int = 0
    """Test samples of the proxy's screen (0: the whole test set)."""
    mismatch_sigma: float = 0.05
    chip_seed: int = 1
    seed: int = 0
    """Seed of the sampler (and of the base model's training: the profile's)."""
    params_path: str = ""
    """The level's calibrated proxy (default calibration/cmos.json)."""
    refine: int = 3
    """Measured designs given their own calibration and measured again (design.refine)."""
    refine_samples: int = 64
    """Training inputs of a refined design's calibration (SPICE operating points)."""
    encoder: str = "linear-tanh"
    """The base model's encoder (codesign.deq.model.Encoder: none feeds the features to the
    DACs, no digital MACs)."""
    decoder: str = "linear"
    """The base model's decoder (codesign.deq.model.Decoder)."""
    gamma: float = DEFAULT_GAMMA
    """The base model's contraction bound ||W||_2 <= gamma (every design fine-tunes it)."""
    sets: tuple[str, ...] = ()
    """Circuit settings (KEY=VALUE, as --set) every design starts from, e.g. the parts of a
    buildable chip: cell=sky130_r2r_eq, device_mismatch=true, periphery.bias=sky130_beta."""

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r}; use one of: {', '.join(TASKS)}")
        counts = {"trials": self.trials, "verify": self.verify, "samples": self.samples,
                  "transients": self.transients, "epochs": self.epochs,
                  "refine-samples": self.refine_samples}
        for name, value in counts.items():
            if type(value) is not int or value < 1:
                raise InputError(f"--{name} must be a whole number >= 1, got {value!r}")
        others = {"refine": self.refine, "final-samples": self.final_samples,
                  "final-transients": self.final_transients,
                  "screen-samples": self.screen_samples}
        for name, value in others.items():
            if type(value) is not int or value < 0:
                raise InputError(f"--{name} must be a whole number >= 0, got {value!r}")
        for name in ("seed", "chip_seed"):
            if type(getattr(self, name)) is not int:
                raise InputError(f"{name} must be a whole number, got {getattr(self, name)!r}")
        if self.verify > self.trials:
            raise InputError(f"--verify {self.verify} exceeds --trials {self.trials}: SPICE "
                             "can only measure designs the search tried")
        if isinstance(self.mismatch_sigma, bool) or not isinstance(
                self.mismatch_sigma, int | float) or not 0 <= self.mismatch_sigma < 0.5:
            raise InputError(f"--mismatch must lie in [0, 0.5), got {self.mismatch_sigma!r}")
        if not isinstance(self.sets, tuple | list) or not all(
                isinstance(text, str) for text in self.sets):
            raise InputError(f"sets must be KEY=VALUE texts, got {self.sets!r}")
        object.__setattr__(self, "sets", tuple(self.sets))
        assignments(self.sets)  # a malformed assignment is refused here
        Encoder.parse(self.encoder, "encoder")
        Decoder.parse(self.decoder, "decoder")
        if isinstance(self.gamma, bool) or not isinstance(self.gamma, int | float) or \
                not 0.0 < self.gamma < 1.0:
            raise InputError(f"--gamma must lie in (0, 1) for a contraction, got {self.gamma!r}")
        if not isinstance(self.params_path, str):
            raise InputError(f"params_path must be a path as text, got {self.params_path!r}")


@dataclass(frozen=True)
class SearchRecord:
    """What design.json says about the search a folder holds."""

    settings: DesignSettings
    space: DesignSpace
    params_sha256: str = ""
    """sha256 of the proxy parameter file the designs were screened through."""


def file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror or exc})") from None


def read_record(out: Path) -> SearchRecord | None:
    """The folder's search record (None: it has none)."""
    path = Path(out) / RECORD
    if not path.is_file():
        return None
    return from_json(SearchRecord, read_json(path), str(path))


def write_record(out: Path, record: SearchRecord) -> Path:
    return write_json(Path(out) / RECORD, asdict(record))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def differences(old: SearchRecord, new: SearchRecord) -> list[str]:
    """What would make ``new`` another search than the one ``old`` records ('name: old ->
    new'), the resumable settings aside."""
    out = []
    for f in fields(DesignSettings):
        if f.name in RESUMABLE:
            continue
        a, b = getattr(old.settings, f.name), getattr(new.settings, f.name)
        if not _same(a, b):
            out.append(f"{f.name}: {a!r} -> {b!r}")
    for f in fields(DesignSpace):
        a, b = getattr(old.space, f.name), getattr(new.space, f.name)
        if not _same(a, b):
            out.append(f"space {f.name}: {list(a)} -> {list(b)}")
    if old.params_sha256 and old.params_sha256 != new.params_sha256:
        out.append("the proxy parameter file's content changed")
    return out


def check_resume(out: Path, record: SearchRecord, new_study: bool, log: Log) -> None:
    """Refuse to resume ``out`` as another search (InputError naming the differences), or with
    ``new_study`` move its earlier study to OUT/previous/TIME and start afresh."""
    out = Path(out)
    old = read_record(out)
    leftovers = [name for name in ("study.log", "trials", "base.pt") if (out / name).exists()]
    if old is None and not leftovers:
        return
    changed = ["the folder holds trials but no design.json"] if old is None else \
        differences(old, record)
    if not changed:
        return
    if not new_study:
        raise InputError(
            f"{out} holds a design search with other settings ({'; '.join(changed)}); resume it "
            "with the same settings, choose another --out, or pass --new-study to move that "
            "search aside and start a new one")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    target = out / PREVIOUS / stamp
    target.mkdir(parents=True, exist_ok=False)
    for child in out.iterdir():
        if child.name not in (PREVIOUS, "run.json", ".codesign.lock") and not \
                child.name.startswith(".codesign-write-test"):
            shutil.move(str(child), str(target / child.name))
    log(f"--new-study: the earlier search ({'; '.join(changed)}) moved to {target}")
