package app.faceid.app.vm

import app.faceid.core.CorrectionInfo
import app.faceid.core.ErasureInfo
import app.faceid.core.ErasureKind
import app.faceid.core.ExportProgress
import app.faceid.core.FaceIdException
import app.faceid.core.MyDataInterface
import app.faceid.core.RestrictionInfo
import java.io.File
import java.time.Instant

/**
 * My data (issue 23): the export of everything the server holds about the employee (started,
 * polled, downloaded into [exportDir] for the screen to share), erasure and correction
 * requests with their state, and restricting biometrics or tracking. [onTrackingRestricted]
 * lets the app stop (or allow again) the location service, as withdrawing consent does.
 */
class MyDataViewModel(
    private val data: MyDataInterface,
    private val exportDir: File,
    private val onTrackingRestricted: (Boolean) -> Unit,
) {
    data class Requests(val erasures: List<ErasureInfo>, val corrections: List<CorrectionInfo>)

    sealed class Export {
        data object None : Export()
        data class Preparing(val id: String) : Export()
        data class Ready(val file: File, val bytes: Long) : Export()
        data class Failed(val detail: String) : Export()
    }

    val restrictions = Observable<RestrictionInfo?>(null)
    val requests = Observable(Requests(emptyList(), emptyList()))
    val export = Observable<Export>(Export.None)
    /** The profile photo (JPEG from the server); null when there is none. */
    val photo = Observable<ByteArray?>(null)
    /** The last refusal or network problem, for the screen to show. */
    val problem = Observable<String?>(null)

    suspend fun load(): Read<Unit> {
        val read = Read.of {
            showRestrictions(data.restrictions())
            requests.value = Requests(data.erasureRequests(), data.correctionRequests())
            photo.value = data.photo()
        }
        problem.value = (read as? Read.Offline)?.detail
        return read
    }

    private fun showRestrictions(r: RestrictionInfo) {
        restrictions.value = r
        onTrackingRestricted(r.tracking)
    }

    /** Restricts (`true`) or lifts biometric processing; nothing is deleted. */
    suspend fun restrictBiometrics(on: Boolean) = change { showRestrictions(data.setRestrictions(on, null)) }

    /** Restricts or lifts tracking: the location service stops at once when restricted. */
    suspend fun restrictTracking(on: Boolean) = change { showRestrictions(data.setRestrictions(null, on)) }

    suspend fun requestErasure(scope: ErasureKind, comment: String?) = change {
        val made = data.requestErasure(scope, comment?.trim()?.ifEmpty { null })
        requests.value = requests.value.copy(erasures = listOf(made) + requests.value.erasures)
    }

    /** A missing or wrong punch: [eventId] the wrong one (null: a missing one). */
    suspend fun requestPunchCorrection(eventId: String?, direction: String, at: Instant, comment: String) = change {
        val made = data.requestPunchCorrection(eventId, direction, at, comment)
        requests.value = requests.value.copy(corrections = listOf(made) + requests.value.corrections)
    }

    suspend fun requestNameCorrection(field: String, value: String, comment: String) = change {
        val made = data.requestFieldCorrection(field, value, comment)
        requests.value = requests.value.copy(corrections = listOf(made) + requests.value.corrections)
    }

    /** Sets the profile photo (JPEG or PNG); shows the server's re-encoded copy. */
    suspend fun setPhoto(image: ByteArray) = change {
        data.setPhoto(image)
        photo.value = data.photo()
    }

    suspend fun deletePhoto() = change {
        data.deletePhoto()
        photo.value = null
    }

    /** Starts an export, its README in [language]. */
    suspend fun startExport(language: String?): Export {
        val next = try {
            Export.Preparing(data.startExport(language).id)
        } catch (e: FaceIdException) {
            Export.Failed(e.message.orEmpty())
        }
        export.value = next
        return next
    }

    /** One poll of the export being prepared; the ZIP lands in [exportDir] once ready. */
    suspend fun pollExport(): Export {
        val current = export.value as? Export.Preparing ?: return export.value
        exportDir.mkdirs()
        val file = File(exportDir, "faceid-export-${current.id}.zip")
        val next = try {
            when (val p = data.pollExport(current.id, file.path)) {
                is ExportProgress.Pending -> current
                is ExportProgress.Downloaded -> Export.Ready(File(p.path), p.bytes.toLong())
            }
        } catch (e: FaceIdException.Network) {
            current // try again at the next poll
        } catch (e: FaceIdException) {
            Export.Failed(e.message.orEmpty())
        }
        export.value = next
        return next
    }

    private suspend fun change(action: suspend () -> Unit): Boolean = try {
        action()
        problem.value = null
        true
    } catch (e: FaceIdException) {
        problem.value = e.message.orEmpty()
        false
    }
}
