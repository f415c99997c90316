"""codesign: SPICE in the training loop of deep equilibrium models for analog hardware.

The public API, by stage (each name is imported on first use, so ``import codesign`` is cheap):

- model: HybridDEQ, DEQConfig, Encoder, Decoder, CoreWeights, random_core; checkpoints
  load_checkpoint, save_checkpoint, load_source, load_npz_core, save_npz_core
- circuit: CircuitConfig, circuit_config, ArrayConfig, MappingConfig, NeuronConfig,
  OpAmpParams, CmosParams, NoiseConfig, ConverterConfig, scale_currents, NEURON_LEVELS
- chip (one compiled instance, the way every SPICE run goes): Chip, verify_chip, verify_core,
  VerifySettings
- simulator: get_simulator, find_ngspice
- proxy: ProxyParams, CircuitProxy, load_params, save_params, default_params_path
- calibration: load_spec, calibrate, refit; noise: noise_spread, check_noise, NoisePlan; a chip
  instance's own digital readout: fit_readout, ReadoutFit
- tasks and training: get_task, TASKS, TrainConfig, new_model, train_model, HardwareModel
- the co-design loop and its report: LoopSettings, run_loop, write_report
- the design search: Design, DesignSpace, DesignSettings, run_design
- errors: CodesignError (every error codesign raises on purpose), InputError,
  SimulationError, NgspiceNotFoundError
"""

from typing import TYPE_CHECKING

from codesign._lazy import lazy_exports
from codesign._version import __version__

if TYPE_CHECKING:
    from codesign.calibration.calibrate import calibrate
    from codesign.calibration.noise import NoisePlan, check_noise, noise_spread
    from codesign.calibration.readout import ReadoutFit, fit_readout
    from codesign.calibration.refit import refit
    from codesign.calibration.spec import load_spec
    from codesign.chip.chip import Chip
    from codesign.chip.summary import format_summary
    from codesign.chip.verify import ProxySet, VerifySettings, verify_chip, verify_core
    from codesign.circuit.config import (
        NEURON_LEVELS,
        ArrayConfig,
        CircuitConfig,
        CmosParams,
        ConverterConfig,
        MappingConfig,
        NeuronConfig,
        NoiseConfig,
        OpAmpParams,
        circuit_config,
        scale_currents,
    )
    from codesign.deq.checkpoint import (
        load_checkpoint,
        load_npz_core,
        load_source,
        save_checkpoint,
        save_npz_core,
    )
    from codesign.deq.model import Decoder, DEQConfig, Encoder, HybridDEQ
    from codesign.deq.weights import CoreWeights, random_core
    from codesign.design.search import run_design
    from codesign.design.settings import DesignSettings
    from codesign.design.space import Design, DesignSpace
    from codesign.errors import CodesignError, InputError, NgspiceNotFoundError, SimulationError
    from codesign.loop.pipeline import run_loop
    from codesign.proxy.fitted import ProxyRangeWarning
    from codesign.proxy.model import CircuitProxy
    from codesign.proxy.params import ProxyParams, default_params_path, load_params, save_params
    from codesign.report.content import write_report
    from codesign.results.loop import LoopSettings
    from codesign.simulator import get_simulator
    from codesign.simulator.ngspice import find_ngspice
    from codesign.tasks import TASKS, get_task
    from codesign.tasks.profile import TrainConfig
    from codesign.training.aware import HardwareModel
    from codesign.training.train import new_model, train_model

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
