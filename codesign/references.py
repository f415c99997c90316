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

# --- the energy card's cited lines (codesign.chip.card), at sky130's node (130 nm, 1.8 V) ---
MURMANN_SURVEY = (
    "B. Murmann, 'ADC Performance Survey 1997-2026', github.com/bmurmann/ADC-survey, revision "
    "20260314 (ADCsurvey_rev20260314.xlsx), read from its per-entry text export in "
    "github.com/Maaannnn/MNSIM-2.0 @5de1d74, validate/output/walden_murmann/"
    "walden_vs_murmann_per_entry.csv (cross-checked against Accelergy-Project/"
    "accelergy-adc-plug-in @2eef1f26, adc_data/adc_list.csv); the survey states no licence, its "
    "README asks for this citation. Rows: 130-180 nm CMOS, Nyquist ADCs, E = P / f_s")
ADC_SAR_130NM = Reference(
    "SAR ADC at 130 nm, 100 MS/s, ENOB 8.35: Walden FoM (VLSI 2009, paper 23.1)", 28.3,
    "fJ/conversion-step",
    MURMANN_SURVEY + ": VLSI 2009 #23.1, SAR, 130 nm, ENOB 8.35, 100 MS/s, 0.92 mW, 9.2 pJ per "
    "conversion; the survey's only 130 nm SAR at 8 b that is not time-interleaved. Of the 8 SAR "
    "entries at ENOB 6.5-8.5 and 130-180 nm the median energy is 23.2 pJ, the best 1.2 pJ "
    "(VLSI 2015 #3.2, 180 nm, 100 kS/s)")
ADC_SAR_130NM_CONVERSION_S = Reference(
    "its conversion time (1 / f_s)", 10e-9, "s", ADC_SAR_130NM.source)
ADC_LOW_RES_FLOOR_130NM = Reference(
    "lowest energy per conversion of any ADC at ENOB 4-6.5 in 130-180 nm", 4.15, "pJ",
    MURMANN_SURVEY + ": ISSCC 2008 #30.8, flash, 180 nm, ENOB 5.02, 400 kS/s, 1.66 uW (15 "
    "entries in the class, median 115 pJ; no plain SAR at these nodes: the nearest is VLSI 2009 "
    "#23.2, SAR, 90 nm, ENOB 5.02, 4.8 pJ). FoM x 2^bits is not charged below this floor")
DAC_CAP_UNIT_F = Reference(
    "sky130 MIM unit capacitor, 1 x 1 um (cap_mim_m3_1)", 2.76e-15, "F",
    "google/skywater-pdk-libs-sky130_fd_pr @77429bf, models/r+c/res_typical__cap_typical__lin."
    "spice: camimc = 2.00 fF/um^2 (area) and cpmimc = 0.19 fF/um (perimeter), tt; 1 um is the "
    "minimum capm width. A binary capacitive DAC of 2^bits units switched at 1.8 V takes at most "
    "2^bits C_u V^2; codesign charges half of it (the mean over codes of a conventional switching "
    "scheme). An estimate from the PDK: no silicon figure for a 6-8 b DAC at 130-180 nm was "
    "found")
DIGITAL_MAC_130NM = Reference(
    "8-bit digital multiply-accumulate at 130 nm, 1.8 V", 3.8, "pJ/MAC",
    "M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014: 8-bit "
    "multiply 0.2 pJ + 8-bit add 0.03 pJ at 45 nm, 0.9 V; scaled by 16.7 to 130 nm at 1.8 V with "
    "A. Stillmaker and B. Baas, 'Scaling equations for the accurate prediction of CMOS device "
    "performance from 180 nm to 7 nm', Integration 58, 74-81 (2017) (energy a V^2 + b V + c: "
    "130 nm (7.171, -6.709, 2.904), 45 nm (1.103, -0.362, 0.2767); 1.8 V is past the fit's "
    "nominal 1.3 V, where the factor is 7.46 and the MAC 1.7 pJ). Arithmetic only: no memory "
    "access")
IMAGINE_SYSTEM_MAC = Reference(
    "IMAGINE, 22 nm FD-SOI charge-domain SRAM CIM, 8 b, system level", 50.0, "fJ/MAC",
    "A. Kneip, M. Lefebvre, P. Maistriaux, D. Bol, 'IMAGINE: an 8-to-1b 22nm FD-SOI compute-in-"
    "memory CNN accelerator with an end-to-end analog charge-based 0.15-8 POPS/W macro', IEEE "
    "TCAS-AI 2(3), 222-235 (2025), arXiv:2412.19750: 40 TOPS/W system level at 8 b (2 ops per "
    "MAC); macro 2.6 TOPS/mm^2 at 8 b")
