package app.faceid.app.vm

import app.faceid.core.FaceIdException
import app.faceid.core.MyDataInterface
import app.faceid.core.TelegramInfo
import app.faceid.core.TelegramSwitches

/**
 * The Telegram section of the settings: the link's state (hidden when the server has no bot),
 * a one-time deep link to the bot to start linking, unlinking, and the notification switches.
 */
class TelegramViewModel(private val data: MyDataInterface) {
    sealed class State {
        data object Loading : State()
        /** The server has no Telegram bot: the section is hidden. */
        data object Unavailable : State()
        data class Shown(val link: TelegramInfo, val problem: String? = null) : State()
    }

    val state = Observable<State>(State.Loading)

    suspend fun load(): State {
        val next = when (val read = Read.of { data.telegram() }) {
            is Read.Answer -> read.value?.let { State.Shown(it) } ?: State.Unavailable
            else -> State.Unavailable
        }
        state.value = next
        return next
    }

    /** The deep link to open in Telegram (null after a refusal, shown on screen). */
    suspend fun startLinking(language: String?): String? = attempt { data.startTelegramLink(language) }

    suspend fun unlink() {
        attempt { data.unlinkTelegram() }
        load()
    }

    suspend fun setSwitches(switches: TelegramSwitches) {
        attempt { data.setTelegramSwitches(switches) }?.let { state.value = State.Shown(it) }
    }

    private suspend fun <T> attempt(call: suspend () -> T): T? = try {
        call()
    } catch (e: FaceIdException) {
        (state.value as? State.Shown)?.let { state.value = it.copy(problem = e.message.orEmpty()) }
        null
    }
}
