package app.faceid.app.vm

import app.faceid.core.AdminConsole
import app.faceid.core.AttendanceEvent
import app.faceid.core.DeviceEntry
import app.faceid.core.EmployeeEntry
import app.faceid.core.EmployeeSearch
import app.faceid.core.FaceIdException
import app.faceid.core.KioskSetup
import app.faceid.core.PunchState
import app.faceid.core.ReviewChoice
import app.faceid.core.TodayOverview

/**
 * The admin's and operator's screens over their scope (the server decides it): today, flagged
 * punches to review, employee search and blocking / unblocking an employee's devices.
 */
class AdminViewModel(private val console: AdminConsole) {
    val today = Observable<TodayOverview?>(null)
    val flagged = Observable<List<AttendanceEvent>>(emptyList())
    val employees = Observable<List<EmployeeEntry>?>(null)

    /** The devices of the employee chosen in the search. */
    sealed class Devices {
        data object None : Devices()
        data class Loaded(val employee: EmployeeEntry, val items: List<DeviceEntry>) : Devices()
        /** The server lets only administrators see and block devices (an operator asked). */
        data class AdminsOnly(val employee: EmployeeEntry) : Devices()
    }

    val devices = Observable<Devices>(Devices.None)

    suspend fun loadToday(siteId: String? = null): TodayOverview = console.today(null, siteId).also { today.value = it }

    /** Punches waiting for a decision, oldest first. */
    suspend fun loadFlagged(employeeId: String? = null): List<AttendanceEvent> =
        console.flaggedPunches(null, null, employeeId, 100u, 0u).items
            .filter { it.status == PunchState.FLAGGED_PENDING }
            .also { flagged.value = it }

    suspend fun approve(eventId: String, comment: String? = null): AttendanceEvent = review(eventId, ReviewChoice.ACCEPT, comment)

    suspend fun reject(eventId: String, comment: String? = null): AttendanceEvent = review(eventId, ReviewChoice.REJECT, comment)

    private suspend fun review(eventId: String, choice: ReviewChoice, comment: String?): AttendanceEvent {
        val review = console.reviewPunch(eventId, choice, comment)
        flagged.value = flagged.value.filterNot { it.id == eventId }
        return review
    }

    /** The evidence photo of a punch, or why there is none. */
    sealed class Photo {
        data class Shown(val bytes: ByteArray) : Photo()
        data class Missing(val detail: String) : Photo()
    }

    suspend fun evidencePhoto(eventId: String): Photo = try {
        Photo.Shown(console.evidencePhoto(eventId))
    } catch (e: FaceIdException.InvalidInput) {
        Photo.Missing(e.message.orEmpty()) // none, or erased (`photo_erased`)
    }

    /** Creates a kiosk; its credential is shown once, as a QR code the kiosk scans. */
    suspend fun createKiosk(name: String, siteId: String?): KioskSetup = console.createKiosk(name, siteId)

    /** Employees of the caller's scope whose name, login or card matches [text] (all when blank). */
    suspend fun search(text: String): List<EmployeeEntry> {
        devices.value = Devices.None
        val found = console.employees(EmployeeSearch(text = text.trim().ifEmpty { null }), SEARCH_LIMIT, 0u).items
        employees.value = found
        return found
    }

    /** The devices [employee] logged in from. */
    suspend fun loadDevices(employee: EmployeeEntry): Devices {
        val next = try {
            Devices.Loaded(employee, console.devices(null, employee.id, 50u, 0u).items)
        } catch (e: FaceIdException.Unauthorized) {
            Devices.AdminsOnly(employee)
        }
        devices.value = next
        return next
    }

    /** Block (every request and login from it refused from now on) or unblock a device. */
    suspend fun setBlocked(device: DeviceEntry, blocked: Boolean): DeviceEntry {
        val updated = if (blocked) console.blockDevice(device.id) else console.unblockDevice(device.id)
        val shown = devices.value
        if (shown is Devices.Loaded) {
            devices.value = shown.copy(items = shown.items.map { if (it.id == updated.id) updated else it })
        }
        return updated
    }

    companion object {
        const val SEARCH_LIMIT = 50u
    }
}
