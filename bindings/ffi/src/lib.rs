//! `faceid-ffi`: the one library the Android and iOS apps load. Everything here is a thin,
//! FFI-safe layer over `core/`; logic lives in the core crates.

uniffi::setup_scaffolding!();

mod admin;
mod client;
mod error;
mod face;
mod kiosk;
mod log;
mod privacy;
mod records;
mod server;
mod store;
mod types;

use std::sync::LazyLock;

pub use admin::{
    AdminConsole, DeviceEntry, DeviceList, DeviceType, EmployeeEntry, EmployeeList, EmployeeSearch,
    EmploymentStatus, EventList, KioskSetup, LateEntry, LeaveEntry, PersonEntry, PlatformKind,
    TodayGroupInfo, TodayOverview,
};
pub use client::{FaceIdClient, SessionExpiredListener, SyncStateListener, SyncTaskHandle};
pub use error::FaceIdError;
pub use face::{
    CameraFrame, CaptureSummary, ChallengeStep, FaceBox, FaceCapture, FaceEngine, FrameFeedback,
    FrameFormat, HeadChallenge, HeadTurn, QualityHint,
};
pub use kiosk::{KioskIdentification, KioskTerminal};
pub use log::{LogLevel, LogRecord, LoggerSink, install_logger};
pub use privacy::{
    CorrectionInfo, ErasureInfo, ErasureKind, ExportInfo, ExportProgress, KeptInfo, MyData,
    RestrictionInfo, TelegramInfo, TelegramSwitches,
};
pub use records::{
    AttendanceEvent, ConsentStatus, ConsentTextInfo, EventType, PunchState, PunchVerdict,
    RecordedLocation, ReviewChoice, Timesheet, TimesheetDay,
};
pub use server::normalize_server_url;
pub use store::{DeviceKey, DeviceKeyError, SecureStore};
pub use types::*;

/// The runtime of the background tasks (sync). Async exports run on uniffi's tokio
/// compatibility layer; both are tokio, so the core's futures work in either.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("faceid-core")
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime")
    });
    &RUNTIME
}

/// Version of the native core, shown in the app's "About" screen and sent in bug reports.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
