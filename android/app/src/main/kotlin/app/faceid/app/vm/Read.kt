package app.faceid.app.vm

import app.faceid.core.FaceIdException

/**
 * How an online read of the server ended, in the terms the screens tell the user: the answer,
 * no network, nobody signed in (the login screen is next), or this device blocked. Other
 * errors (invalid input, internal) are bugs to surface, so they are not caught.
 */
sealed class Read<out T> {
    data class Answer<T>(val value: T) : Read<T>()
    data class Offline(val detail: String) : Read<Nothing>()
    data object SignedOut : Read<Nothing>()
    data object Blocked : Read<Nothing>()

    companion object {
        suspend fun <T> of(call: suspend () -> T): Read<T> = try {
            Answer(call())
        } catch (e: FaceIdException.Network) {
            Offline(e.message.orEmpty())
        } catch (e: FaceIdException.SessionExpired) {
            SignedOut
        } catch (e: FaceIdException.Unauthorized) {
            SignedOut
        } catch (e: FaceIdException.DeviceBlocked) {
            Blocked
        }
    }
}
