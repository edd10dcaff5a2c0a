//! Whether this CPU runs what this build was compiled for. Native x86-64 builds assume
//! x86-64-v3 (`.cargo/config.toml`); on an older CPU the first AVX2 instruction would kill the
//! process with SIGILL and no explanation, so the binaries check at start and say what to do.

/// Instruction-set extensions this build was compiled to use that the running CPU lacks (empty
/// when everything is there, and always on other architectures).
pub fn missing_features() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        // `is_x86_feature_detected!` is answered at compile time for features the build
        // enables, so ask the CPU directly.
        use std::arch::x86_64::{__cpuid, __cpuid_count};
        let max_leaf = __cpuid(0).eax;
        let leaf1 = __cpuid(1);
        let leaf7_ebx = if max_leaf >= 7 {
            __cpuid_count(7, 0).ebx
        } else {
            0
        };
        let checks = [
            (
                cfg!(target_feature = "avx"),
                leaf1.ecx & (1 << 28) != 0,
                "avx",
            ),
            (
                cfg!(target_feature = "fma"),
                leaf1.ecx & (1 << 12) != 0,
                "fma",
            ),
            (
                cfg!(target_feature = "avx2"),
                leaf7_ebx & (1 << 5) != 0,
                "avx2",
            ),
            (
                cfg!(target_feature = "bmi2"),
                leaf7_ebx & (1 << 8) != 0,
                "bmi2",
            ),
        ];
        checks
            .into_iter()
            .filter(|&(built_for, present, _)| built_for && !present)
            .map(|(_, _, name)| name)
            .collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    Vec::new()
}

/// The running CPU lacks extensions this build was compiled to use.
#[derive(Debug, thiserror::Error)]
#[error(
    "this build needs CPU features {} that this processor lacks (it was compiled for \
     x86-64-v3, see .cargo/config.toml); rebuild for the baseline with \
     CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS=\"\" cargo build --release",
    missing.join(", ")
)]
pub struct UnsupportedCpu {
    pub missing: Vec<&'static str>,
}

/// `Err` naming what is missing when [`missing_features`] is not empty.
pub fn check() -> Result<(), UnsupportedCpu> {
    let missing = missing_features();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(UnsupportedCpu { missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_machine_runs_its_own_build() {
        // The test binary is itself compiled with the build's flags and got this far.
        assert_eq!(missing_features(), Vec::<&str>::new());
        assert!(check().is_ok());
    }

    #[test]
    fn the_refusal_names_what_is_missing_and_how_to_rebuild() {
        let message = UnsupportedCpu {
            missing: vec!["avx2", "fma"],
        }
        .to_string();
        assert!(message.contains("avx2, fma"), "{message}");
        assert!(
            message.contains("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS=\"\" cargo build"),
            "{message}"
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn native_x86_builds_are_compiled_for_x86_64_v3() {
        // Guards .cargo/config.toml (an exported RUSTFLAGS silently replaces it): without it the
        // figures in README's "Benchmarks" do not hold. A deliberate baseline build skips this.
        const {
            assert!(
                cfg!(target_feature = "avx2") && cfg!(target_feature = "fma"),
                "not built for x86-64-v3: see .cargo/config.toml"
            )
        };
    }
}
