//! What the bot says, in Russian, Tajik and English. Plain text only: no photos, no
//! descriptors, no markup (so names need no escaping).

use faceid_protocol::reason_code::ReasonCode;
pub use faceid_protocol::telegram::Lang;

fn pick(lang: Lang, ru: &str, tg: &str, en: &str) -> String {
    match lang {
        Lang::Ru => ru,
        Lang::Tg => tg,
        Lang::En => en,
    }
    .to_owned()
}

pub fn linked(lang: Lang, name: &str) -> String {
    match lang {
        Lang::Ru => format!(
            "Готово: этот чат привязан к сотруднику {name}. Уведомления об отметках будут приходить сюда. Отключить: /stop"
        ),
        Lang::Tg => format!(
            "Тайёр: ин чат ба корманд {name} пайваст шуд. Огоҳиҳо дар бораи қайдҳо ба ин ҷо меоянд. Қатъ кардан: /stop"
        ),
        Lang::En => format!(
            "Done: this chat is now linked to {name}. Punch notifications will arrive here. To stop: /stop"
        ),
    }
}

pub fn code_used(lang: Lang) -> String {
    pick(
        lang,
        "Эта ссылка уже использована. Получите новую в приложении FaceID.",
        "Ин пайванд аллакай истифода шудааст. Дар барномаи FaceID пайванди навро гиред.",
        "This link has already been used. Please get a new one in the FaceID app.",
    )
}

pub fn code_expired(lang: Lang) -> String {
    pick(
        lang,
        "Срок действия ссылки истёк. Получите новую в приложении FaceID.",
        "Мӯҳлати пайванд гузаштааст. Дар барномаи FaceID пайванди навро гиред.",
        "This link has expired. Please get a new one in the FaceID app.",
    )
}

pub fn code_unknown(lang: Lang) -> String {
    pick(
        lang,
        "Ссылка не распознана. Откройте привязку Telegram в приложении FaceID и нажмите ссылку ещё раз.",
        "Пайванд шинохта нашуд. Дар барномаи FaceID пайвасти Telegram-ро кушоед ва пайвандро бори дигар пахш кунед.",
        "This link was not recognised. Open Telegram linking in the FaceID app and tap the link again.",
    )
}

pub fn consent_missing(lang: Lang) -> String {
    pick(
        lang,
        "Сначала дайте согласие на уведомления в Telegram в приложении FaceID, затем получите новую ссылку.",
        "Аввал дар барномаи FaceID ба огоҳиҳои Telegram розигӣ диҳед, баъд пайванди нав гиред.",
        "Please first consent to Telegram notifications in the FaceID app, then get a new link.",
    )
}

pub fn help(lang: Lang) -> String {
    pick(
        lang,
        "Это бот учёта рабочего времени FaceID. Чтобы получать уведомления, откройте привязку Telegram в приложении FaceID. Отключить: /stop",
        "Ин боти баҳисобгирии вақти кори FaceID аст. Барои гирифтани огоҳиҳо пайвасти Telegram-ро дар барномаи FaceID кушоед. Қатъ кардан: /stop",
        "This is the FaceID time-tracking bot. To get notifications, open Telegram linking in the FaceID app. To stop: /stop",
    )
}

pub fn stopped(lang: Lang) -> String {
    pick(
        lang,
        "Чат отвязан, уведомлений больше не будет.",
        "Чат ҷудо карда шуд, дигар огоҳӣ намеояд.",
        "This chat is unlinked; no more notifications.",
    )
}

pub fn not_linked(lang: Lang) -> String {
    pick(
        lang,
        "Этот чат ни к кому не привязан.",
        "Ин чат ба касе пайваст нест.",
        "This chat is not linked to anyone.",
    )
}

fn kind_word(lang: Lang, kind: &str) -> String {
    match (lang, kind) {
        (Lang::Ru, "in") => "Приход",
        (Lang::Ru, _) => "Уход",
        (Lang::Tg, "in") => "Омад",
        (Lang::Tg, _) => "Рафт",
        (Lang::En, "in") => "Check-in",
        (Lang::En, _) => "Check-out",
    }
    .to_owned()
}

fn verdict_word(lang: Lang, verdict: &str) -> String {
    match (lang, verdict) {
        (Lang::Ru, "verified") => "подтверждён",
        (Lang::Ru, "flagged") => "отправлен на проверку",
        (Lang::Ru, _) => "отклонён",
        (Lang::Tg, "verified") => "тасдиқ шуд",
        (Lang::Tg, "flagged") => "барои санҷиш фиристода шуд",
        (Lang::Tg, _) => "рад шуд",
        (Lang::En, "verified") => "verified",
        (Lang::En, "flagged") => "flagged for review",
        (Lang::En, _) => "rejected",
    }
    .to_owned()
}

/// A punch verdict reason, in words; a code without words (image quality, a terminal's clock,
/// a code this build does not know) as it is.
pub fn reason(lang: Lang, code: &str) -> String {
    use ReasonCode as R;
    let (ru, tg, en) = match ReasonCode::parse(code) {
        Some(R::FaceMismatch | R::ChallengeFaceMismatch | R::DeviceDescriptorMismatch) => (
            "лицо не совпало",
            "чеҳра мувофиқ наомад",
            "the face did not match",
        ),
        Some(R::LivenessFailed | R::ChallengeFailed | R::ChallengeMissing) => (
            "проверка живого лица не пройдена",
            "санҷиши чеҳраи зинда нагузашт",
            "the liveness check failed",
        ),
        Some(R::OutsideGeofence) => (
            "вне территории объекта",
            "берун аз ҳудуди объект",
            "outside the site's area",
        ),
        Some(R::NoSite | R::NoLocation) => (
            "место не определено",
            "макон муайян нашуд",
            "the location is unknown",
        ),
        Some(R::AccuracyTooLow) => (
            "низкая точность GPS",
            "дақиқии GPS паст аст",
            "GPS accuracy too low",
        ),
        Some(R::MockLocation) => (
            "подменённое местоположение",
            "макони қалбакӣ",
            "a mock location",
        ),
        Some(R::ClockImplausible | R::OfflineTooLong) => (
            "время на устройстве не подтверждено",
            "вақти дастгоҳ тасдиқ нашуд",
            "the device's time could not be trusted",
        ),
        Some(
            R::QualityNoFace
            | R::QualitySeveralFaces
            | R::QualityFaceTooSmall
            | R::QualityOffCentre
            | R::QualityCutOff
            | R::QualityYawTooLarge
            | R::QualityPitchTooLarge
            | R::QualityBadLandmarks
            | R::QualityTooBlurry
            | R::QualityTooDark
            | R::QualityTooBright
            | R::TerminalClockSkew,
        )
        | None => (code, code, code),
    };
    pick(lang, ru, tg, en)
}

fn reasons_line(lang: Lang, reasons: &[String]) -> String {
    if reasons.is_empty() {
        return String::new();
    }
    let label = pick(lang, "Причина", "Сабаб", "Reason");
    let list: Vec<String> = reasons.iter().map(|r| reason(lang, r)).collect();
    format!("\n{label}: {}", list.join(", "))
}

/// The employee's receipt: "Check-in 09:02 at Office: verified".
pub fn punch_receipt(
    lang: Lang,
    kind: &str,
    verdict: &str,
    reasons: &[String],
    time: &str,
    site: Option<&str>,
) -> String {
    let at = site.map(|s| format!(" — {s}")).unwrap_or_default();
    format!(
        "{} {time}{at}: {}{}",
        kind_word(lang, kind),
        verdict_word(lang, verdict),
        reasons_line(lang, reasons)
    )
}

/// To administrators and operators: a punch waits for review.
pub fn review_alert(
    lang: Lang,
    employee: &str,
    kind: &str,
    reasons: &[String],
    time: &str,
    site: Option<&str>,
) -> String {
    let head = pick(
        lang,
        "Отметка ждёт проверки",
        "Қайд санҷишро интизор аст",
        "A punch waits for review",
    );
    let at = site.map(|s| format!(" — {s}")).unwrap_or_default();
    format!(
        "{head}: {employee}\n{} {time}{at}{}",
        kind_word(lang, kind),
        reasons_line(lang, reasons)
    )
}

/// To administrators and operators: an employee checked in after the grace period.
pub fn late_alert(lang: Lang, employee: &str, minutes: i64, shift_start: &str, at: &str) -> String {
    match lang {
        Lang::Ru => format!(
            "Опоздание: {employee}\nСмена с {shift_start}, приход в {at} (на {minutes} мин)"
        ),
        Lang::Tg => format!(
            "Дер омадан: {employee}\nБаст аз {shift_start}, омад соати {at} ({minutes} дақ. дер)"
        ),
        Lang::En => format!(
            "Late arrival: {employee}\nShift from {shift_start}, checked in at {at} ({minutes} min late)"
        ),
    }
}

/// To administrators and operators: no check-in by the shift start plus the grace period.
pub fn absent_alert(lang: Lang, employee: &str, shift_start: &str, date: &str) -> String {
    match lang {
        Lang::Ru => format!(
            "Нет отметки о приходе: {employee}\nСмена {date} с {shift_start}, время ожидания прошло"
        ),
        Lang::Tg => format!(
            "Қайди омад нест: {employee}\nБасти {date} аз {shift_start}, вақти интизорӣ гузашт"
        ),
        Lang::En => format!(
            "No check-in: {employee}\nShift on {date} from {shift_start}; the grace period is over"
        ),
    }
}

/// To the employee: the shift is over and they are still checked in.
pub fn checkout_reminder(lang: Lang, shift_end: &str) -> String {
    match lang {
        Lang::Ru => format!(
            "Смена закончилась в {shift_end}, а отметки об уходе нет. Не забудьте отметить уход в приложении FaceID."
        ),
        Lang::Tg => format!(
            "Баст соати {shift_end} ба охир расид, вале қайди рафтан нест. Рафтанро дар барномаи FaceID қайд кунед."
        ),
        Lang::En => format!(
            "Your shift ended at {shift_end} and there is no check-out. Please check out in the FaceID app."
        ),
    }
}

/// The day's figures of one department.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// Checked in (on time or late).
    pub present: usize,
    pub late: usize,
    /// Scheduled, grace over, no check-in, not on leave.
    pub absent: usize,
    /// Punches waiting for review.
    pub flagged: usize,
}

/// To administrators and the department's operators: the day in figures.
pub fn daily_summary(lang: Lang, department: &str, date: &str, c: DayCounts) -> String {
    let DayCounts {
        present,
        late,
        absent,
        flagged,
    } = c;
    match lang {
        Lang::Ru => format!(
            "Итоги дня {date} — {department}\nПришли: {present}\nОпоздали: {late}\nОтсутствуют: {absent}\nНа проверке: {flagged}"
        ),
        Lang::Tg => format!(
            "Натиҷаи рӯз {date} — {department}\nОмаданд: {present}\nДер омаданд: {late}\nҲозир нестанд: {absent}\nДар санҷиш: {flagged}"
        ),
        Lang::En => format!(
            "Day summary {date} — {department}\nPresent: {present}\nLate: {late}\nAbsent: {absent}\nFlagged for review: {flagged}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_and_texts_differ() {
        assert_eq!(Lang::parse(Some("en-US")), Lang::En);
        assert_eq!(Lang::parse(Some("tg")), Lang::Tg);
        assert_eq!(Lang::parse(Some("de")), Lang::Ru);
        assert_eq!(Lang::parse(None), Lang::Ru);
        let r = |l| {
            punch_receipt(
                l,
                "in",
                "flagged",
                &["outside_geofence".into()],
                "09:02",
                Some("Office"),
            )
        };
        assert_eq!(
            r(Lang::En),
            "Check-in 09:02 — Office: flagged for review\nReason: outside the site's area"
        );
        assert!(r(Lang::Ru).starts_with("Приход 09:02 — Office: отправлен на проверку"));
        assert!(r(Lang::Tg).starts_with("Омад 09:02"));
        assert_eq!(reason(Lang::En, "something_new"), "something_new");
    }

    #[test]
    fn attendance_notices_in_three_languages() {
        let c = DayCounts {
            present: 3,
            late: 1,
            absent: 2,
            flagged: 0,
        };
        assert_eq!(
            daily_summary(Lang::En, "Kitchen", "03.03", c),
            "Day summary 03.03 — Kitchen\nPresent: 3\nLate: 1\nAbsent: 2\nFlagged for review: 0"
        );
        assert!(daily_summary(Lang::Ru, "Kitchen", "03.03", c).contains("Отсутствуют: 2"));
        assert!(daily_summary(Lang::Tg, "Kitchen", "03.03", c).contains("Ҳозир нестанд: 2"));
        for l in [Lang::Ru, Lang::Tg, Lang::En] {
            assert!(late_alert(l, "A B", 25, "09:00", "09:25").contains("25"));
            assert!(absent_alert(l, "A B", "09:00", "03.03").contains("A B"));
            assert!(checkout_reminder(l, "18:00").contains("18:00"));
        }
    }
}
