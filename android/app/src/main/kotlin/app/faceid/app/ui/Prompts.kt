package app.faceid.app.ui

import app.faceid.app.R
import app.faceid.core.ChallengeStep
import app.faceid.core.HeadTurn

/** The on-screen prompt for the core's challenge step. */
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
}
