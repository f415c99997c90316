"""Published and measured figures codesign compares against, each with its source.

Every outside figure in the README, docs or a report comes from here, so its source travels with the
code. Energies per multiply-accumulate (MAC); a TOPS/W figure counts 2 operations per MAC.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """One figure: what it is, its value and unit, and where it comes from."""

    name: str
    value: float
    unit: str
    source: str


CPU_FP32_MAC = Reference(
    "CPU arithmetic floor, fp32 multiply-accumulate (45 nm)", 4.6, "pJ/MAC",
    "M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014: "
    "fp32 multiply 3.7 pJ + fp32 add 0.9 pJ, arithmetic only (no data movement)")
H100_DATASHEET_MAC = Reference(
    "NVIDIA H100 SXM at datasheet peak (dense FP16)", 1.42, "pJ/MAC",
    "NVIDIA H100 Tensor Core GPU datasheet: 700 W at 989 TFLOP/s dense FP16 = 0.71 pJ/FLOP, "
    "2 FLOP per MAC; the best case")
H200_MEASURED_MAC = {
    64: Reference("NVIDIA H200, measured, N = 64 (bf16)", 51.0, "pJ/MAC",
                  "measured by the codesign project on one H200, 2026-11-28: NVML total board "
                  "energy over 6 s of batched plain fixed-point iteration z = tanh(W z + U x + b), "
                  "rho = 0.5, batch 65536, 5 iterations; 1.8e8 equilibria/s "
                  "(benchmarks/gpu_energy.py)"),
    256: Reference("NVIDIA H200, measured, N = 256 (bf16)", 13.0, "pJ/MAC",
                   "as for N = 64 (benchmarks/gpu_energy.py)"),
    1024: Reference("NVIDIA H200, measured, N = 1024 (bf16)", 5.1, "pJ/MAC",
                    "as for N = 64, batch 16384 (benchmarks/gpu_energy.py)"),
}
H200_EQUILIBRIA_PER_S_N64 = Reference(
    "NVIDIA H200 throughput, N = 64 equilibria (bf16, batch 65536, 5 iterations)", 1.8e8,
    "equilibria/s", H200_MEASURED_MAC[64].source)
ANALOG_CHIPS_MAC = (
    Reference("IBM HERMES PCM chip (Le Gallo 2023), 1-phase", 205.0, "fJ/MAC",
              "M. Le Gallo et al., 'A 64-core mixed-signal in-memory compute chip based on "
              "phase-change memory for deep neural network inference', Nature Electronics 6, "
              "680-693 (2023): 9.76 TOPS/W"),
    Reference("IBM HERMES PCM chip (Le Gallo 2023), 4-phase", 806.0, "fJ/MAC",
              "same chip, 8-bit 4-phase mode: 2.48 TOPS/W"),
    Reference("Ambrogio et al. 2023 (35 M PCM devices)", 161.0, "fJ/MAC",
              "S. Ambrogio et al., 'An analog-AI chip for energy-efficient speech recognition and "
              "transcription', Nature 620, 768-775 (2023): 12.4 TOPS/W sustained"),
)
PCM_WINDOW = Reference(
    "phase-change memory conductance window (g_max)", 25.0, "uS",
    "IBM aihwkit's PCM inference model, fitted to Nandakumar et al. (2019)")
CELL_BITS_ROUTINE = Reference(
    "bits per cell programmed routinely in resistive memory", 4.0, "bits",
    "M. Rao et al., 'Thousands of conductance levels in memristors integrated on CMOS', "
    "Nature 615, 823-829 (2023): ~4 bits routine, 11 bits only with write-verify")
ADC_WALDEN_FOM = Reference(
    "ADC energy per conversion step (Walden FoM), good SAR ADCs", 10.0, "fJ/conversion-step",
    "B. E. Jonsson's ADC performance survey (converterpassion.wordpress.com, 'ADC Survey: "
    "Spring 2012 update', and 'Spring 2013 update on FOM', 2013-04-14): the Walden FoM "
    "P / (2^ENOB f_s) of several SAR ADCs reported in 2011-2012 lies below 10 fJ (e.g. 8.7 fJ "
    "at 2 MS/s, ENOB 8.3; 6.8 fJ at 10 MS/s, ENOB 10.0); the record in 2013 was 2.2 fJ "
    "(Harpe et al., ISSCC 2013). Energy per conversion = FoM x 2^bits (ENOB taken as the bit "
    "width)")
ADC_WALDEN_FOM_RECORD = Reference(
    "ADC Walden FoM, state of the art in 2013", 2.2, "fJ/conversion-step",
    "Jonsson's survey, 'ADC Survey: Spring 2013 update on FOM' (converterpassion.wordpress.com, "
    "2013-04-14): Harpe, Cantatore and van Roermund, 10/12-bit SAR, ISSCC 2013")
DAC_FOM = Reference(
    "DAC energy per conversion step, taken equal to the ADC's Walden FoM", 10.0,
    "fJ/conversion-step",
    "no survey figure for small on-chip DACs is cited here: codesign charges each input DAC "
    "the ADC survey's FoM (ADC_WALDEN_FOM) x 2^bits per conversion, an upper estimate for a "
    "capacitive or resistive DAC that only sets a voltage; the current the DAC then drives "
    "into the crossbar is measured in SPICE (the input supplies)")
PENDULUM_SWINGUP_RL = (
    Reference("SAC on Pendulum-v1 (swing-up, gymnasium's reset), mean return", -157.0,
              "return per episode", "RL Baselines3 Zoo, benchmark.md (github.com/DLR-RM/"
              "rl-baselines3-zoo): SAC -157.0 +- 88.7 over its evaluation episodes"),
    Reference("DDPG on Pendulum-v1, mean return", -152.1, "return per episode",
              "RL Baselines3 Zoo, benchmark.md: DDPG -152.1 +- 94.3"),
    Reference("PPO on Pendulum-v1, mean return", -172.2, "return per episode",
              "RL Baselines3 Zoo, benchmark.md: PPO -172.2 +- 104.2"),
    Reference("A2C on Pendulum-v1, mean return", -163.0, "return per episode",
              "RL Baselines3 Zoo, benchmark.md: A2C -163.0 +- 103.2"),
)
"""Published returns of standard RL agents on the swing-up task; the first (SAC) is the bar the
swingup task's circuit must clear."""
