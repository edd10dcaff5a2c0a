package app.faceid.app.ui

import android.content.Context
import app.faceid.app.R
import app.faceid.core.ChallengeStep
import app.faceid.core.HeadTurn
import app.faceid.core.QualityHint

/** The user's language for the core's codes: challenge steps, quality hints, day statuses. */
object Prompts {
    fun forStep(step: ChallengeStep?): Int = when (step) {
        null, ChallengeStep.Start -> R.string.prompt_look
        is ChallengeStep.Perform -> forTurn(step.action)
        is ChallengeStep.ReturnToCentre -> R.string.prompt_centre
        ChallengeStep.Completed -> R.string.prompt_done
        is ChallengeStep.Failed -> R.string.prompt_failed
    }

    private fun forTurn(turn: HeadTurn): Int = when (turn) {
        HeadTurn.TURN_LEFT -> R.string.prompt_left
        HeadTurn.TURN_RIGHT -> R.string.prompt_right
        HeadTurn.LOOK_UP -> R.string.prompt_up
        HeadTurn.LOOK_DOWN -> R.string.prompt_down
    }

    private val hints = mapOf(
        "no_face" to R.string.hint_no_face,
        "several_faces" to R.string.hint_several_faces,
        "face_too_small" to R.string.hint_face_too_small,
        "off_centre" to R.string.hint_off_centre,
        "cut_off" to R.string.hint_cut_off,
        "yaw_too_large" to R.string.hint_yaw_too_large,
        "pitch_too_large" to R.string.hint_pitch_too_large,
        "bad_landmarks" to R.string.hint_bad_landmarks,
        "too_blurry" to R.string.hint_too_blurry,
        "too_dark" to R.string.hint_too_dark,
        "too_bright" to R.string.hint_too_bright,
    )

    /** A quality hint in the app's language; a code this app does not know shows the core's English. */
    fun hint(context: Context, hint: QualityHint): String = hints[hint.code]?.let(context::getString) ?: hint.message

    fun hints(context: Context, list: List<QualityHint>): String = list.joinToString("\n") { hint(context, it) }

    private val days = mapOf(
        "present" to R.string.day_present,
        "late" to R.string.day_late,
        "left_early" to R.string.day_left_early,
        "absent" to R.string.day_absent,
        "day_off" to R.string.day_day_off,
        "holiday" to R.string.day_holiday,
        "on_leave" to R.string.day_on_leave,
        "missing_check_out" to R.string.day_missing_check_out,
        "in_progress" to R.string.day_in_progress,
        "upcoming" to R.string.day_upcoming,
    )

    /** A timesheet day's status; an unknown code is shown as it is. */
    fun dayStatus(context: Context, code: String): String = days[code]?.let(context::getString) ?: code
}
